// Where the tests find their data: the reference fixtures (../shared/fixtures, or $BIGGAN_FIXTURES),
// the built tools, and fresh scratch folders.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_paths.h"

namespace biggan::test {

inline std::filesystem::path fixtures_root() {
  if (const char* env = std::getenv("BIGGAN_FIXTURES")) return env;
  return std::filesystem::path(BIGGAN_SOURCE_DIR) / ".." / "shared" / "fixtures";
}

// Every case folder under fixtures_root()/group, sorted, so new cases are picked up without code.
inline std::vector<std::filesystem::path> fixture_cases(const std::string& group) {
  std::vector<std::filesystem::path> out;
  auto dir = fixtures_root() / group;
  if (!std::filesystem::is_directory(dir)) return out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::filesystem::path tool_path(const std::string& name) {
  return std::filesystem::path(BIGGAN_BINARY_DIR) / name;
}

// A fresh empty folder under the system temp dir, removed when the object dies.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("biggan_test_" + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace biggan::test
