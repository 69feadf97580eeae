// What every tool's main shares: thread setup, error reporting and exit codes.
#pragma once
#include <functional>
#include <string>

namespace biggan {

// Exit codes every tool uses.
enum ExitCode { kExitOk = 0, kExitError = 1, kExitUsage = 2 };

// Sets LibTorch's intra-op thread count: `threads` > 0 as given, otherwise the machine's core count.
// Returns the count in use.
int setup_threads(int threads);

// Runs a tool body (after setting how tensor memory is kept, util/tensor_memory.h, and OpenBLAS's
// thread count, util/blas_threads.h). Bad flags (cxxopts errors) print "tool: message" and exit 2; any other error
// prints "tool: message" and exits 1. The body returns the exit code.
int run_tool(const std::string& tool, const std::function<int()>& body);

// True when stderr is a terminal (progress is shown only then, or with --progress).
bool stderr_is_terminal();

}  // namespace biggan
