#include <catch2/catch.hpp>
#include <fstream>

#include "libbiggan/serialization/hdf5_file.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("hdf5 round trip of tensors, row slices and attributes") {
  test::TempDir dir;
  auto path = (dir / "t.h5").string();
  auto imgs = torch::randint(0, 255, {10, 3, 4, 4}).to(torch::kUInt8);
  auto labels = torch::arange(10, torch::kInt64);
  {
    auto f = h5::File::create(path);
    f.write("imgs", imgs, 4, 3);
    f.write("group/labels", labels);
    f.set_attr("/", "note", std::string("hello"));
    f.set_attr("imgs", "scale", 2.5);
  }
  auto f = h5::File::open_read(path);
  CHECK(f.list("/") == std::vector<std::string>{"group", "imgs"});
  CHECK(torch::equal(f.read("imgs"), imgs));
  CHECK(torch::equal(f.read_rows("imgs", 3, 5), imgs.slice(0, 3, 8)));
  CHECK(torch::equal(f.read("group/labels"), labels));
  CHECK(f.attr_string("/", "note") == "hello");
  CHECK(f.attr_double("imgs", "scale") == 2.5);
  CHECK_FALSE(f.exists("nope/deeper"));
  REQUIRE_THROWS_WITH(f.read("missing"), Catch::Contains("missing"));
  REQUIRE_THROWS(f.read_rows("imgs", 8, 5));
}

TEST_CASE("hdf5 open names a file that is not HDF5") {
  test::TempDir dir;
  auto path = dir / "junk.h5";
  std::ofstream(path) << "not hdf5 at all";
  REQUIRE_THROWS_WITH(h5::File::open_read(path.string()), Catch::Contains("not an HDF5 file"));
}
