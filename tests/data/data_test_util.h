// Helpers shared by the data tests: running a tool, and the Python oracle's availability.
#pragma once
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/fixtures.h"

namespace biggan::test {

// True when /usr/bin/python3 with torch, torchvision and PIL is usable as an oracle; warns loudly if
// not (callers BIGGAN_SKIP, which fails under CI).
inline bool python_oracle_available() {
  static int cached = -1;
  if (cached < 0) {
    cached = std::system("/usr/bin/python3 -c 'import torch, torchvision, PIL, numpy' > /dev/null 2>&1") == 0;
    if (!cached)
      std::cerr << "\n*** WARNING: /usr/bin/python3 with torch/torchvision/PIL not found: "
                   "Python-oracle checks are SKIPPED ***\n\n";
  }
  return cached == 1;
}

inline std::string source_path(const std::string& rel) {
  return (std::filesystem::path(BIGGAN_SOURCE_DIR) / rel).string();
}

}  // namespace biggan::test
