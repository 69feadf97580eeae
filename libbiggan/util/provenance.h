// Who wrote a file, as samtools' @PG lines say it: the tool, the toolkit's version and git commit,
// and the command line. A tool records its invocation once at start (parse_tool_flags does it for
// every cxxopts tool, gan-train's main for itself); every writer of HDF5 files, npz archives,
// sample streams, weights folders and JSON / JSONL outputs stores provenance() beside its data.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "libbiggan/util/json.h"

namespace biggan {

struct Provenance {
  std::string tool;          // "gan-sample" ("biggan-cpp" when no tool recorded one: library use)
  std::string version;       // "0.5.0 (git 1a2b3c4)"
  std::string command_line;  // the arguments, shell-quoted where needed ("" when not recorded)
};

// Records this process's invocation (argv[0]'s base name is replaced by `tool`).
void record_invocation(const std::string& tool, int argc, const char* const* argv);
void record_invocation(const std::string& tool, const std::vector<std::string>& args);

// What the process recorded.
Provenance provenance();
// {"tool": ..., "version": ..., "command_line": ...}
Json provenance_json();

// provenance_json() as uint8 bytes: the "provenance" member of every .npz we write
// (numpy: bytes(np.load(f)["provenance"]).decode()).
torch::Tensor provenance_bytes();

// One argument as a POSIX shell reads it back: unchanged when it is safe, else in single quotes.
std::string shell_quote(const std::string& arg);

}  // namespace biggan
