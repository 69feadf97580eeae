// Who made a binary: the toolkit's version, the git commit it was configured from, and the
// LibTorch it runs on. Printed by every tool's --version; outputs can record it as provenance.
#pragma once
#include <string>

namespace biggan {

// e.g. "0.5.0" (CMake's project version).
std::string toolkit_version();
// The `git describe --always --dirty` of the source tree when CMake was configured ("unknown"
// outside a git checkout).
std::string git_commit();
// "gan-sample (biggan-cpp) 0.5.0, git 1a2b3c4, LibTorch 1.13.1 (CPU)".
std::string version_line(const std::string& tool);

}  // namespace biggan
