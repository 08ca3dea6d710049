// libFuzzer's driver, for a fuzz target that has a `main` of its own (a SwiftPM executable always has one).
// Nothing here is linked in a normal build: the symbol comes from the runtime that `-sanitize=fuzzer` links.
#ifndef CLIBFUZZER_SHIM_H
#define CLIBFUZZER_SHIM_H
#include <stddef.h>
#include <stdint.h>

/// The fuzz target: each target defines it (`@_cdecl("LLVMFuzzerTestOneInput")`) in a fuzzing build.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/// Runs libFuzzer with the command line's flags (`-max_total_time=60`, corpus directories) on `callback`.
/// Declared in compiler-rt's `FuzzerInterface.h`; present since LLVM 11.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
