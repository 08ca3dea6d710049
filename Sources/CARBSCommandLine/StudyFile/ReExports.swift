// The study file (`StudyFile`, `StudyFileError`) lives in CARBSStudyFile, a small module of its own so that it can
// be fuzzed without building the whole command line; code that imports CARBSCommandLine keeps seeing it.
@_exported import CARBSStudyFile
