// npz::StreamWriter (an .npz written as its rows come) and zip::Writer's piecewise entries: the same
// bytes as the whole-array writers, whatever the interleaving and piece sizes; wrong row counts and
// shapes are clear errors; numpy reads the result.
#include <catch2/catch.hpp>

#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/npz_stream.h"
#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;
using namespace biggan::test;

TEST_CASE("zip: an entry written in pieces has the bytes of one add()", "[npz_stream]") {
  TempDir tmp;
  std::string data(200000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 7919) % 251);
  for (bool zip64 : {false, true}) {
    {
      zip::Writer whole((tmp / "whole.zip").string(), 64, zip64);
      whole.add("a.bin", data);
      whole.add("b.bin", data.substr(0, 33));
      whole.finish();
    }
    {
      zip::Writer pieces((tmp / "pieces.zip").string(), 64, zip64);
      pieces.begin_entry("a.bin", data.size());
      for (size_t at = 0; at < data.size(); at += 6007)
        pieces.append_entry(data.data() + at, std::min<size_t>(6007, data.size() - at));
      pieces.end_entry();
      pieces.add("b.bin", data.substr(0, 33));
      pieces.finish();
    }
    INFO("zip64 " << zip64);
    CHECK(read_file(tmp / "pieces.zip") == read_file(tmp / "whole.zip"));
    CHECK(zip::Reader((tmp / "pieces.zip").string()).read("a.bin") == data);
  }
  zip::Writer short_entry((tmp / "short.zip").string());
  short_entry.begin_entry("a.bin", 10);
  short_entry.append_entry("12345", 5);
  CHECK_THROWS_WITH(short_entry.end_entry(), Catch::Contains("5 of its 10 bytes"));
  CHECK_THROWS_WITH(short_entry.append_entry("1234567", 7), Catch::Contains("more than its 10 bytes"));
}

TEST_CASE("npz::StreamWriter: rows in any interleaving give npz::save's bytes", "[npz_stream]") {
  TempDir tmp;
  torch::manual_seed(1);
  auto x = torch::randint(0, 256, {13, 3, 5, 5}, torch::kInt64).to(torch::kUInt8);
  auto y = torch::randint(0, 10, {13}, torch::kInt64);
  auto f = torch::randn({13, 4});
  npz::save((tmp / "whole.npz").string(), {{"x", x}, {"y", y}, {"f", f}});
  {
    npz::StreamWriter w((tmp / "stream.npz").string(), {{"x", torch::kUInt8, {13, 3, 5, 5}},
                                                        {"y", torch::kInt64, {13}},
                                                        {"f", torch::kFloat32, {13, 4}}});
    for (int64_t s = 0; s < 13; s += 4) {
      const int64_t e = std::min<int64_t>(13, s + 4);
      w.append(1, y.slice(0, s, e));
      w.append(0, x.slice(0, s, e));
    }
    w.append(2, f.slice(0, 0, 6));
    w.append(2, f.slice(0, 6, 13));
    w.finish();
  }
  CHECK(read_file(tmp / "stream.npz") == read_file(tmp / "whole.npz"));
  auto back = npz::load((tmp / "stream.npz").string());
  CHECK(torch::equal(npz::get(back, "f", "stream.npz"), f));

  npz::StreamWriter bad((tmp / "bad.npz").string(), {{"x", torch::kUInt8, {4, 3}}, {"y", torch::kInt64, {4}}});
  CHECK_THROWS_WITH(bad.append(0, torch::zeros({2, 4}, torch::kUInt8)), Catch::Contains("do not fit array x"));
  CHECK_THROWS_WITH(bad.append(1, torch::zeros({2}, torch::kInt32)), Catch::Contains("do not fit array y"));
  bad.append(0, torch::zeros({3, 3}, torch::kUInt8));
  CHECK_THROWS_WITH(bad.append(0, torch::zeros({2, 3}, torch::kUInt8)), Catch::Contains("more than its 4 rows"));
  CHECK_THROWS_WITH(bad.finish(), Catch::Contains("bad.npz") && Catch::Contains("got 3 of its 4 rows"));
}
