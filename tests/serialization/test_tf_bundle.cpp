// The TensorFlow tensor-bundle reader's pieces (crc32c.h, protobuf_wire.h, leveldb_table.h,
// tf_bundle.h): CRC32C's check value and LevelDB's mask, the wire format's bounds, and the index of
// a fixture module read whole, with a compressed block refused by name.
#include <catch2/catch.hpp>

#include "libbiggan/serialization/crc32c.h"
#include "libbiggan/serialization/leveldb_table.h"
#include "libbiggan/serialization/protobuf_wire.h"
#include "libbiggan/serialization/tf_bundle.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

fs::path fixture_index() {
  for (const auto& dir : test::fixture_cases("tfhub"))
    if (fs::exists(dir / "variables" / "variables.index")) return dir / "variables" / "variables.index";
  return {};
}

}  // namespace

TEST_CASE("crc32c: the Castagnoli check value, piecewise, and LevelDB's mask", "[tf_bundle]") {
  const std::string s = "123456789";
  CHECK(crc32c::value(s.data(), s.size()) == 0xE3069283u);
  CHECK(crc32c::extend(crc32c::value(s.data(), 4), s.data() + 4, 5) == 0xE3069283u);
  CHECK(crc32c::value("", 0) == 0u);
  // Long enough for the 8-byte loop, against the byte-at-a-time result assembled from pieces.
  std::string long_text(1000, '\0');
  for (size_t i = 0; i < long_text.size(); ++i) long_text[i] = static_cast<char>(i * 7 + 3);
  uint32_t piecewise = 0;
  for (char c : long_text) piecewise = crc32c::extend(piecewise, &c, 1);
  CHECK(crc32c::value(long_text.data(), long_text.size()) == piecewise);
  for (uint32_t v : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) {
    CHECK(crc32c::unmask(crc32c::mask(v)) == v);
    CHECK(crc32c::mask(v) != v);
  }
}

TEST_CASE("protobuf wire reader: fields, skipping, and every overrun an error", "[tf_bundle]") {
  // dtype=1 (varint), shape={dim {size 32}}, crc32c (fixed32)
  const std::string entry("\x08\x01\x12\x04\x12\x02\x08\x20\x35\x01\x02\x03\x04", 13);
  protowire::Reader r(entry, "entry");
  protowire::Field f;
  REQUIRE(r.next(f));
  CHECK((f.number == 1 && f.type == protowire::kVarint && f.value == 1));
  REQUIRE(r.next(f));
  CHECK((f.number == 2 && f.type == protowire::kLengthDelimited && f.bytes.size() == 4));
  REQUIRE(r.next(f));
  CHECK((f.number == 6 && f.type == protowire::kFixed32 && f.value == 0x04030201u));
  CHECK_FALSE(r.next(f));
  for (const std::string& bad : {std::string("\x12\x05\x01", 3), std::string("\x08\x80", 2), std::string("\x35\x01", 2),
                                std::string("\x0b", 1), std::string(11, '\xff')}) {
    protowire::Reader b(bad, "bad message");
    CHECK_THROWS_WITH(([&] { while (b.next(f)) {} }()), Catch::Contains("bad message"));
  }
}

TEST_CASE("tensor bundle index: a fixture module read whole; compression and garbage refused", "[tf_bundle]") {
  const auto path = fixture_index();
  if (path.empty()) {
    BIGGAN_SKIP("no TF-Hub fixture module");
    return;
  }
  const std::string bytes = read_file(path);
  const auto index = tfbundle::parse_index(bytes, path.string());
  CHECK(index.num_shards == 1);
  REQUIRE(index.find("linear/w/ema_b999900"));
  CHECK(index.find("linear/w/ema_b999900")->shape == std::vector<int64_t>{1000, 128});
  CHECK(index.find("linear/w/ema_b999900")->dtype == 1);
  CHECK(index.find("no/such/tensor") == nullptr);
  for (size_t i = 1; i < index.tensors.size(); ++i) CHECK(index.tensors[i - 1].name < index.tensors[i].name);
  // Every tensor reads with a matching CRC.
  tfbundle::BundleReader reader(path.string().substr(0, path.string().size() - 6));
  for (const auto& e : reader.index().tensors) CHECK(reader.read(e).numel() * 4 == e.size);

  // A Snappy block (type byte 1, CRC made right) is refused by name, not mis-read.
  std::string snappy = bytes;
  size_t pos = snappy.size() - 48;
  const size_t block_size = static_cast<size_t>(protowire::read_varint(snappy, pos, "footer")) - 5;
  snappy[block_size] = 1;
  const uint32_t crc = crc32c::mask(crc32c::value(snappy.data(), block_size + 1));
  for (int i = 0; i < 4; ++i) snappy[block_size + 1 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  CHECK_THROWS_WITH(tfbundle::parse_index(snappy, "x.index"), Catch::Contains("x.index") && Catch::Contains("Snappy"));
  // Every prefix of the file is refused cleanly (no crash, a one-line error naming it).
  for (size_t n = 0; n < bytes.size(); n += 97) {
    try {
      tfbundle::parse_index(bytes.substr(0, n), "cut.index");
      FAIL("a cut index parsed: " << n << " bytes");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).rfind("cut.index", 0) == 0);
    }
  }
}
