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

// The common flags' help texts: cxxopts tools get them through parse_tool_flags, gan-train's
// reference-style parser (training/train_cli) lists them in its own table.
namespace common_flag_help {
inline constexpr const char* kThreads = "LibTorch threads (0 = all cores)";
inline constexpr const char* kProgress = "progress on stderr even when it is not a terminal";
inline constexpr const char* kDevice = "cpu, cuda or cuda:N (default: cuda when this build and machine have it)";
inline constexpr const char* kVersion = "print the version, git commit and LibTorch build, then exit";
inline constexpr const char* kHelp = "show this help";
}  // namespace common_flag_help

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
