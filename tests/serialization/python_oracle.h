// Runs /usr/bin/python3 (with torch / numpy) as a test oracle. When it is missing, tests WARN loudly
// and skip the oracle checks (CI has it installed).
#pragma once
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>

#include "tests/fixtures.h"

namespace biggan::test {

inline bool python_has(const std::string& module) {
  static std::map<std::string, bool> cache;
  auto it = cache.find(module);
  if (it != cache.end()) return it->second;
  std::string cmd = "/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1";
  bool ok = std::filesystem::exists("/usr/bin/python3") && std::system(cmd.c_str()) == 0;
  return cache[module] = ok;
}

// Writes `script` to a file in `dir`, runs it with the arguments, returns stdout; rc in *rc.
inline std::string run_python(const TempDir& dir, const std::string& script, const std::string& args, int* rc,
                              bool import_torch = true) {
  auto path = dir / "oracle.py";
  {
    std::ofstream f(path);
    if (import_torch) f << "import torch\ntorch.set_num_threads(1)\n";
    f << script;
  }
  std::string cmd = "/usr/bin/python3 " + path.string() + " " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace biggan::test
