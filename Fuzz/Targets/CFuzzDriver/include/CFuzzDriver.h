// libFuzzer's entry point for a program with its own main (compiler-rt,
// FuzzerInterface.h). SwiftPM gives every executable target a `main`, so
// libFuzzer's own main is never linked; each fuzz target's main calls this.
#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
