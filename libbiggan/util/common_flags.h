// The flags every tool shares, declared and documented once (as samtools' global options): each
// tool picks the ones that mean something for it, and all of them spell and explain them alike.
//   --threads N   LibTorch threads (0 = all cores)      --progress  progress on stderr
//   --device D    cpu, cuda or cuda:N                    --json      machine-readable stdout
//   --version     who made this binary                   -h, --help
#pragma once
#include <cxxopts.hpp>
#include <optional>
#include <string>

namespace biggan {

// Which of the optional common flags a tool takes (--help and --version are always there).
enum CommonFlag : unsigned { kThreadsFlag = 1u, kProgressFlag = 2u, kDeviceFlag = 4u, kJsonFlag = 8u };

struct CommonFlags {
  int threads = 0;          // the LibTorch thread count in use (after setup_threads)
  bool progress = false;    // --progress, or stderr is a terminal
  std::string device;       // --device as given ("" = CUDA when available); see util/device.h
  bool json = false;        // --json
};

// Adds the chosen common flags (group "common") plus --version and -h/--help to the tool's own
// options, then parses argv. --help or --version: prints it on stdout and returns nothing (the tool
// exits 0). Otherwise sets LibTorch's thread count from --threads (or the core count) and returns
// the common flags, with `args` holding everything parsed. `json_help` says what --json prints.
std::optional<CommonFlags> parse_tool_flags(cxxopts::Options& options, int argc, const char* const* argv,
                                            unsigned which, cxxopts::ParseResult& args,
                                            const std::string& json_help = "machine-readable JSON on stdout");

}  // namespace biggan
