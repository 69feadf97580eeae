#include <catch2/catch.hpp>
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
