// IDX files: sizes in the header are not trusted (overflowing products, sizes past the data).
#include <catch2/catch.hpp>
#include <zlib.h>

#include <fstream>

#include "libbiggan/data/idx_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string b{0, 0, 8, char(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b += char((d >> s) & 0xFF);
  return b + data;
}

void write_file(const std::filesystem::path& p, const std::string& bytes, bool gz = false) {
  if (gz) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  }
}

std::string error_of(const std::filesystem::path& p) {
  try {
    data::read_idx_ubyte(p);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("IDX files are read plain and gzipped") {
  test::TempDir tmp;
  std::string pixels;
  for (int i = 0; i < 18; ++i) pixels += char(i * 13);
  for (bool gz : {false, true}) {
    auto p = tmp / (gz ? "a-idx3-ubyte.gz" : "a-idx3-ubyte");
    write_file(p, idx_bytes({2, 3, 3}, pixels), gz);
    auto a = data::read_idx_ubyte(p);
    CHECK(a.dims == std::vector<int64_t>{2, 3, 3});
    CHECK(std::string(a.data.begin(), a.data.end()) == pixels);
  }
}

TEST_CASE("IDX sizes whose product overflows are errors naming the file and the size") {
  test::TempDir tmp;
  auto p = tmp / "huge-idx3-ubyte";
  // 65536^4 = 2^64 wrapped to 0: this file used to load as an empty array of those dims.
  write_file(p, idx_bytes({65536, 65536, 65536, 65536}, ""));
  auto msg = error_of(p);
  CHECK_THAT(msg, Catch::Contains(p.string()) && Catch::Contains("65536x65536x65536") &&
                      Catch::Contains("elements"));
  // Eight maximal dims.
  write_file(p, idx_bytes(std::vector<uint32_t>(8, 0xFFFFFFFFu), ""));
  CHECK_THAT(error_of(p), Catch::Contains(p.string()) && Catch::Contains("4294967295x4294967295"));
}

TEST_CASE("an IDX header declaring more than the file holds is truncated, not an allocation") {
  test::TempDir tmp;
  auto p = tmp / "short-idx3-ubyte.gz";
  // 2^39 elements declared (512 GiB), 10 present: refused without allocating what was declared.
  write_file(p, idx_bytes({1u << 13, 1u << 13, 1u << 13}, std::string(10, '\1')), true);
  CHECK_THAT(error_of(p), Catch::Contains(p.string()) && Catch::Contains("truncated") &&
                              Catch::Contains("8192x8192x8192 = 549755813888 elements"));
}
