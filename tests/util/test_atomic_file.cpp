#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("write_atomically keeps the old file when the writer fails") {
  test::TempDir dir;
  auto target = dir / "ckpt.bin";
  write_file_atomically(target, "old contents");
  REQUIRE_THROWS(write_atomically(target, [](const std::filesystem::path& tmp) {
    std::ofstream(tmp) << "half";
    throw Error("simulated crash mid-write");
  }));
  CHECK(read_file(target) == "old contents");
  // No temp file is left behind.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) (void)e, ++n;
  CHECK(n == 1);
  write_file_atomically(target, "new contents");
  CHECK(read_file(target) == "new contents");
}

TEST_CASE("read_file names a missing file") {
  REQUIRE_THROWS_WITH(read_file("/nonexistent/x.pth"), Catch::Contains("/nonexistent/x.pth"));
}

TEST_CASE("write_atomically's errors name the target, not its temp file") {
  test::TempDir dir;
  auto target = dir / "G.pth";
  REQUIRE_THROWS_WITH(write_atomically(target, [](const std::filesystem::path& tmp) {
                        throw input_error(tmp.string(), "write failed: No space left on device");
                      }),
                      target.string() + ": write failed: No space left on device");
  CHECK(!std::filesystem::exists(target));
}

TEST_CASE("fsync_path and rename_file name the file they fail on") {
  REQUIRE_THROWS_WITH(fsync_path("/nonexistent/dir/x.pth"), Catch::StartsWith("/nonexistent/dir/x.pth: cannot open to sync"));
  test::TempDir dir;
  REQUIRE_THROWS_WITH(rename_file(dir / "absent", dir / "G.pth"),
                      Catch::StartsWith((dir / "G.pth").string() + ": cannot move absent into place"));
  fsync_path(dir.path);  // a folder syncs
}

TEST_CASE("a write over the file size limit is an error naming the file, and the old file stays") {
  // In a child process: the limit and the ignored SIGXFSZ must not touch the test runner.
  test::TempDir dir;
  auto target = dir / "ckpt.bin";
  write_file_atomically(target, "old contents");
  auto message = dir / "message.txt";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::string what = "no error";
    try {
      write_file_atomically(target, std::string(100000, 'x'));
    } catch (const std::exception& e) {
      what = e.what();
    }
    FILE* f = std::fopen(message.c_str(), "w");
    std::fputs(what.c_str(), f);
    std::fclose(f);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(read_file(message) == target.string() + ": write failed: File too large");
  CHECK(read_file(target) == "old contents");
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) (void)e, ++n;
  CHECK(n == 2);  // the target and the message: no temp file left
}
