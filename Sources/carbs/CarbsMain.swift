import ArgumentParser
import CARBSCommandLine

/// The `carbs` executable: everything it does lives in CARBSCommandLine.
@main
extension CarbsCommand {}
