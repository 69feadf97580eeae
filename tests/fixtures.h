// Where the tests find their data: the committed reference fixtures (tests/fixtures), extra cases
// (../shared/fixtures, $BIGGAN_FIXTURES), the built tools, and fresh scratch folders; and the
// skip switch (a skipped check is a failure under CI).
#pragma once
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <fstream>
#include <sys/wait.h>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "test_paths.h"

namespace biggan::test {

// The committed fixtures: tests/fixtures in the source tree (every clone has them).
inline std::filesystem::path fixtures_root() {
  return std::filesystem::path(BIGGAN_SOURCE_DIR) / "tests" / "fixtures";
}

// Every place that holds fixture cases: the committed ones first, then, when present, the extra
// sources ../shared/fixtures (beside the checkout) and $BIGGAN_FIXTURES. Each folder once.
inline std::vector<std::filesystem::path> fixture_roots() {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots{fixtures_root()};
  std::vector<fs::path> extra{fs::path(BIGGAN_SOURCE_DIR) / ".." / "shared" / "fixtures"};
  if (const char* env = std::getenv("BIGGAN_FIXTURES"); env && *env) extra.emplace_back(env);
  for (const auto& r : extra) {
    std::error_code ec;
    if (!fs::is_directory(r, ec)) continue;
    bool seen = false;
    for (const auto& have : roots) seen = seen || fs::equivalent(have, r, ec);
    if (!seen) roots.push_back(r);
  }
  return roots;
}

// Every case folder under <root>/group for every root, each root's sorted, so new cases (committed
// or dropped into an extra source) are picked up without code.
inline std::vector<std::filesystem::path> fixture_cases(const std::string& group) {
  std::vector<std::filesystem::path> out;
  for (const auto& root : fixture_roots()) {
    auto dir = root / group;
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::filesystem::path> here;
    for (auto& e : std::filesystem::directory_iterator(dir))
      if (e.is_directory()) here.push_back(e.path());
    std::sort(here.begin(), here.end());
    out.insert(out.end(), here.begin(), here.end());
  }
  return out;
}

// A fixture kept gzipped in the repository (`rel` + ".gz" under fixtures_root()), gunzipped once into
// the build tree (test_cache/`rel`); written to a temporary name and renamed, so a parallel or
// interrupted run never sees half a file. Returns the plain file's path; throws if it cannot.
inline std::filesystem::path gunzipped_fixture(const std::string& rel) {
  namespace fs = std::filesystem;
  const fs::path gz = fixtures_root() / (rel + ".gz");
  const fs::path out = fs::path(BIGGAN_BINARY_DIR) / "test_cache" / rel;
  std::error_code ec;
  if (fs::exists(out, ec) && fs::last_write_time(out, ec) >= fs::last_write_time(gz, ec)) return out;
  fs::create_directories(out.parent_path());
  const fs::path tmp = out.string() + ".tmp" + std::to_string(::getpid());
  const std::string cmd = "gzip -dc '" + gz.string() + "' > '" + tmp.string() + "'";
  if (!fs::exists(gz) || std::system(cmd.c_str()) != 0) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot gunzip fixture " + gz.string());
  }
  fs::rename(tmp, out);
  return out;
}

// The reference's training file of the trajectory run (the first 2,048 Fashion-MNIST training
// images as the reference's make_hdf5 layout), committed gzipped.
inline std::filesystem::path trajectory_hdf5() { return gunzipped_fixture("trajectory/data/ILSVRC32.hdf5"); }

// True when a skipped check must fail the test instead (CI): CI set to anything but "" / "0" /
// "false", or BIGGAN_NO_SKIP=1. A skip that only warns is invisible in ctest's summary.
inline bool skips_are_failures() {
  auto on = [](const char* name) {
    const char* v = std::getenv(name);
    if (!v) return false;
    const std::string s = v;
    return !(s.empty() || s == "0" || s == "false" || s == "False" || s == "FALSE");
  };
  return on("CI") || on("BIGGAN_NO_SKIP");
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

struct ToolRun {
  int exit_code = -1;
  std::string err;  // stderr
};

// Runs `tool args` with stderr captured (stdout discarded); with timeout_s > 0 under `timeout`, so
// a tool that blocks fails the test instead of hanging the suite.
inline ToolRun run_tool_cmd(const std::string& tool, const std::string& args, const TempDir& scratch,
                            int timeout_s = 0) {
  auto exe = tool_path(tool);
  if (!std::filesystem::exists(exe)) {
    ToolRun r;
    r.err = exe.string() + " is not built (build the target " + tool + " before running the tests)";
    return r;
  }
  auto err_file = scratch / "stderr.txt";
  std::string cmd = (timeout_s > 0 ? "timeout " + std::to_string(timeout_s) + " " : std::string()) + "'" +
                    exe.string() + "' " + args + " > /dev/null 2> '" + err_file.string() + "'";
  int status = std::system(cmd.c_str());
  ToolRun r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  std::stringstream ss;
  ss << in.rdbuf();
  r.err = ss.str();
  return r;
}

}  // namespace biggan::test

// A check that cannot run here: a warning, or a failure where skips_are_failures().
#define BIGGAN_SKIP(msg)                                                                       \
  do {                                                                                         \
    if (::biggan::test::skips_are_failures()) {                                                \
      FAIL("SKIP is a failure here (CI / BIGGAN_NO_SKIP): " << msg);                           \
    } else {                                                                                   \
      WARN("SKIPPED: " << msg);                                                                \
    }                                                                                          \
  } while (0)
