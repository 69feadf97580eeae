// Bad and hostile files: each must give a clear biggan::Error naming the file, never a crash, a
// huge allocation or code execution.
#include <catch2/catch.hpp>
#include <zlib.h>
#include <fstream>
#include <iostream>
#include <random>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;
namespace tf = biggan::torchfile;

namespace {

// Unlink first: truncating a file in place makes ext4 flush it on close (auto_da_alloc), which
// made thousands of rewrites take 30 s.
void write_bytes(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// Loads `path`; returns the error message ("" if it loaded). Any exception other than
// biggan::Error fails the test.
std::string load_error(const std::string& path) {
  try {
    tf::load(path);
    return "";
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(path) == std::string::npos) FAIL("error does not name the file: " << msg);
    if (msg.find('\n') != std::string::npos) FAIL("error is not one line: " << msg);
    return msg;
  }
}

void require_error(const std::string& path, const std::string& contains) {
  auto msg = load_error(path);
  INFO("message: " << msg);
  REQUIRE(!msg.empty());
  CHECK(msg.find(contains) != std::string::npos);
}

// A torch zip file holding the given pickle (and optional storage records).
std::string zip_with_pickle(const std::string& path, const std::string& pkl,
                            const std::vector<std::pair<std::string, std::string>>& records = {}) {
  zip::Writer w(path);
  w.add("archive/data.pkl", pkl);
  for (auto& [k, v] : records) w.add("archive/data/" + k, v);
  w.add("archive/version", std::string("3\n"));
  w.finish();
  return path;
}

// The legacy format's three header pickles: magic number, protocol version 1001, sys info {}.
std::string legacy_header() {
  return std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15) + "\x80\x02M\xe9\x03." +
         "\x80\x02}.";
}

std::string u32(uint32_t v) { return std::string{char(v & 0xFF), char((v >> 8) & 0xFF), char((v >> 16) & 0xFF), char(v >> 24)}; }
std::string binunicode(const std::string& s) { return "X" + u32(uint32_t(s.size())) + s; }
std::string long8(int64_t v) {
  std::string s = "\x8a\x08";
  for (int i = 0; i < 8; ++i) s += char((uint64_t(v) >> (8 * i)) & 0xFF);
  return s;
}

// A protocol-2 pickle calling os.system('touch <marker>') the classic way: GLOBAL + REDUCE.
std::string system_pickle(const std::string& module, const std::string& marker) {
  return std::string("\x80\x02") + "c" + module + "\nsystem\n" + binunicode("touch " + marker) + "\x85R.";
}

// _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), 0, (size,), (1,), False, OrderedDict())
std::string tensor_pickle(int64_t storage_numel, int64_t size) {
  return std::string("\x80\x02") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + binunicode("storage") +
         "ctorch\nFloatStorage\n" + binunicode("0") + binunicode("cpu") + long8(storage_numel) + "tQ" + std::string("K\x00", 2) +
         long8(size) + "\x85" + "K\x01\x85" + "\x89" + "ccollections\nOrderedDict\n)R" + "tR.";
}

}  // namespace

TEST_CASE("missing, empty and non-torch files are clear errors") {
  test::TempDir tmp;
  require_error((tmp / "missing.pth").string(), "cannot open");
  require_error(tmp.path.string(), "is a directory");
  auto empty = (tmp / "empty.pth").string();
  write_bytes(empty, "");
  require_error(empty, "empty");
  auto text = (tmp / "text.pth").string();
  write_bytes(text, "hello, I am not a checkpoint\n");
  require_error(text, "not a torch file");
  CHECK_THROWS_AS(tf::load_state_dict((tmp / "missing.pth").string()), Error);
  // a torch file that is not a state dict
  auto list = (tmp / "list.pth").string();
  tf::save(list, c10::IValue(c10::impl::GenericList(c10::AnyType::get())));
  CHECK_THROWS_WITH(tf::load_state_dict(list), Catch::Contains("expected a dict of str -> Tensor"));
}

TEST_CASE("truncated files are errors at every offset (zip and legacy)") {
  test::TempDir tmp;
  auto c32 = test::fixtures_root() / "biggan" / "c32";
  struct Src {
    std::filesystem::path path;
    int dense;  // every offset below this, then a sample
  };
  for (auto& src : {Src{c32 / "init" / "G_optim.pth", 100000}, Src{c32 / "init" / "G.pth", 0},
                    Src{c32 / "G_legacy.pth", 4000}}) {
    if (!std::filesystem::exists(src.path)) continue;
    std::cout << "truncating " << src.path.string() << std::endl;
    std::string bytes = read_file(src.path);
    std::vector<size_t> cuts;
    for (size_t i = 0; i < bytes.size() && int(i) < src.dense; ++i) cuts.push_back(i);
    for (size_t k = 1; k < 60; ++k) cuts.push_back(bytes.size() * k / 60);
    cuts.push_back(bytes.size() - 1);
    auto path = (tmp / "cut.pth").string();
    int failures = 0;
    for (size_t cut : cuts) {
      write_bytes(path, bytes.substr(0, cut));
      if (load_error(path).empty()) {
        ++failures;
        UNSCOPED_INFO("loaded although truncated at " << cut);
      }
    }
    CHECK(failures == 0);
  }
}

TEST_CASE("a flipped byte in any zip record is a CRC error; anywhere else never a crash") {
  test::TempDir tmp;
  for (auto& c : test::fixture_cases("biggan")) {
    auto src = c / "init" / "G.pth";
    std::cout << "flipping bytes of " << src.string() << std::endl;
    std::string bytes = read_file(src);
    auto original = tf::load_state_dict(src.string());
    // data ranges of all records, from their local headers
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    {
      zip::Reader r(src.string());
      for (auto& e : r.entries()) {
        auto h = reinterpret_cast<const unsigned char*>(bytes.data() + e.local_header_offset);
        uint64_t off = e.local_header_offset + 30 + (h[26] | h[27] << 8) + (h[28] | h[29] << 8);
        if (e.compressed_size) ranges.emplace_back(off, e.compressed_size);
      }
    }
    std::mt19937_64 rng(42);
    auto path = (tmp / "flip.pth").string();
    for (int i = 0; i < 200; ++i) {
      auto& [off, len] = ranges[rng() % ranges.size()];
      uint64_t pos = off + rng() % len;
      std::string b = bytes;
      b[pos] = char(b[pos] ^ (1 + rng() % 255));
      write_bytes(path, b);
      auto msg = load_error(path);
      INFO("flipped byte at " << pos << ": " << msg);
      CHECK(msg.find("CRC mismatch") != std::string::npos);
    }
    for (int i = 0; i < 200; ++i) {  // anywhere: an error, or (padding bytes) the same content
      uint64_t pos = rng() % bytes.size();
      std::string b = bytes;
      b[pos] = char(b[pos] ^ (1 + rng() % 255));
      write_bytes(path, b);
      try {
        auto sd = tf::load_state_dict(path);
        REQUIRE(sd.size() == original.size());
        for (size_t k = 0; k < sd.size(); ++k) CHECK(torch::equal(sd[k].value(), original[k].value()));
      } catch (const Error&) {
      }
    }
  }
}

TEST_CASE("a flipped byte in a legacy file is an error or a load, never a crash") {
  auto src = test::fixtures_root() / "biggan" / "c32" / "G_legacy.pth";
  if (!std::filesystem::exists(src)) return;
  std::cout << "flipping bytes of " << src.string() << std::endl;
  test::TempDir tmp;
  std::string bytes = read_file(src);
  std::mt19937_64 rng(7);
  auto path = (tmp / "flip.pth").string();
  int errors = 0;
  for (int i = 0; i < 200; ++i) {
    // half of the flips in the pickles at the front, where they do the most damage
    uint64_t pos = i % 2 ? rng() % std::min<size_t>(bytes.size(), 12000) : rng() % bytes.size();
    std::string b = bytes;
    b[pos] = char(b[pos] ^ (1 + rng() % 255));
    write_bytes(path, b);
    errors += !load_error(path).empty();
  }
  std::cout << "  " << errors << " of 200 flips were errors, the rest loaded" << std::endl;
  CHECK(errors > 0);
}

TEST_CASE("pickles that would run code are refused, naming the global") {
  test::TempDir tmp;
  auto marker = (tmp / "pwned").string();
  for (std::string module : {"posix", "os", "subprocess"}) {
    auto z = zip_with_pickle((tmp / ("sys_" + module + ".pth")).string(), system_pickle(module, marker));
    require_error(z, "refusing to load global '" + module + ".system'");
    auto legacy = (tmp / ("legacy_" + module + ".pth")).string();
    write_bytes(legacy, legacy_header() + system_pickle(module, marker));
    require_error(legacy, module + ".system");
  }
  auto eval = zip_with_pickle((tmp / "eval.pth").string(),
                              std::string("\x80\x02") + "cbuiltins\neval\n" + binunicode("1+1") + "\x85R.");
  require_error(eval, "builtins.eval");
  // REDUCE on an allowed global that is no callable: a storage class
  auto storage_call = zip_with_pickle((tmp / "storage_call.pth").string(),
                                      std::string("\x80\x02") + "ctorch\nFloatStorage\n)R.");
  require_error(storage_call, "refusing to call global 'torch.FloatStorage'");
  // BUILD on a tensor-less, non-dict object (an int)
  auto build = zip_with_pickle((tmp / "build.pth").string(), std::string("\x80\x02K\x01}b."));
  require_error(build, "refusing BUILD");
  CHECK_FALSE(std::filesystem::exists(marker));

  if (!test::python_has("pickle")) {
    BIGGAN_SKIP("/usr/bin/python3 not found: the Python-made malicious pickles");
    return;
  }
  // The same attack as Python itself pickles it (protocols 2 and 4: GLOBAL vs STACK_GLOBAL).
  int rc = 0;
  std::string script = R"PY(
import os, pickle, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
for proto in (2, 4):
    with open(sys.argv[1] + str(proto), "wb") as f:
        f.write(pickle.dumps({"weight": Evil()}, protocol=proto))
)PY";
  auto base = (tmp / "evil_p").string();
  auto out = test::run_python(tmp, script, base + " " + marker, &rc);
  INFO(out);
  REQUIRE(rc == 0);
  for (int proto : {2, 4}) {
    auto pkl = read_file(base + std::to_string(proto));
    auto z = zip_with_pickle((tmp / ("py_evil" + std::to_string(proto) + ".pth")).string(), pkl);
    require_error(z, "posix.system");
    auto legacy = (tmp / ("py_evil_legacy" + std::to_string(proto) + ".pth")).string();
    write_bytes(legacy, legacy_header() + pkl);
    require_error(legacy, "posix.system");
  }
  CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("huge declared sizes are errors, not allocations") {
  test::TempDir tmp;
  // storage numel far beyond its record
  auto z = zip_with_pickle((tmp / "huge_storage.pth").string(), tensor_pickle(int64_t(1) << 60, 1),
                           {{"0", std::string(4, '\0')}});
  require_error(z, "declared");
  // tensor larger than its storage
  auto z2 = zip_with_pickle((tmp / "huge_tensor.pth").string(), tensor_pickle(1, int64_t(1) << 40),
                            {{"0", std::string(4, '\0')}});
  require_error(z2, "exceeds its storage");
  // the same in the legacy format
  auto legacy = (tmp / "huge_legacy.pth").string();
  write_bytes(legacy, legacy_header() + tensor_pickle(int64_t(1) << 60, 1) + "\x80\x02]" + binunicode("0") + "a.");
  require_error(legacy, "more than the file holds");
  // a string length of 4 GiB
  auto s = zip_with_pickle((tmp / "huge_string.pth").string(), std::string("\x80\x02X\xf0\xff\xff\xff", 7) + "abc.");
  require_error(s, "exceeds the data left");
  // a zip central directory that claims more entries than it can hold
  auto pk = tmp / "entries.pth";
  tf::save(pk.string(), torch::ones({2}));
  std::string b = read_file(pk);
  auto eocd = b.rfind(std::string("PK\x05\x06", 4));
  REQUIRE(eocd != std::string::npos);
  b[eocd + 8] = b[eocd + 10] = char(0xFE);
  b[eocd + 9] = b[eocd + 11] = char(0xFF);
  write_bytes(pk.string(), b);
  require_error(pk.string(), "entry count");
  // a central directory pointing past the end of the file
  b = read_file(pk);
  b[eocd + 8] = b[eocd + 10] = 3;
  b[eocd + 9] = b[eocd + 11] = 0;
  b[eocd + 19] = char(0x7F);
  write_bytes(pk.string(), b);
  require_error(pk.string(), "past the end");
}

TEST_CASE("deeply nested or self-referencing pickles are refused without a stack overflow") {
  test::TempDir tmp;
  const int n = 300000;
  // MARK x n, EMPTY_LIST, LIST x n: lists nested n deep, built bottom-up.
  std::string bottom_up = std::string("\x80\x02") + std::string(n, '(') + "]" + std::string(n, 'l') + ".";
  require_error(zip_with_pickle((tmp / "nest1.pth").string(), bottom_up), "nested deeper");
  // The same depth built top-down through two memo slots, so no single step looks deep; once as
  // the result, once discarded (POP) before an innocent result.
  std::string top_down = std::string("\x80\x02") + "]q\x01";
  for (int i = 0; i < n; ++i) top_down += "h\x01]q\x02" "a0" "h\x02q\x01" "0";
  require_error(zip_with_pickle((tmp / "nest2.pth").string(), top_down + "."), "nested deeper");
  auto v = zip_with_pickle((tmp / "nest3.pth").string(), top_down + "0K\x07.");
  CHECK(tf::load(v).toInt() == 7);
  // a list containing itself
  require_error(zip_with_pickle((tmp / "cycle.pth").string(), std::string("\x80\x02]q\x00h\x00" "a.", 9)), "contains itself");
  // truncated in the middle of a deep structure
  require_error(zip_with_pickle((tmp / "nest4.pth").string(), top_down), "unexpected end");
}

TEST_CASE("a deflated storage record is refused before it is inflated") {
  // torch writes storages stored (uncompressed); a deflated one could inflate to gigabytes from a
  // small file. Made here as a valid zip: the storage is deflated with zlib, stored by the writer,
  // and its headers patched to say method 8 with the plain size and CRC.
  test::TempDir tmp;
  const std::string plain(4 * 1024, '\0');  // 1024 float zeros
  std::string packed(compressBound(uLong(plain.size())) + 64, '\0');
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = uInt(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_out = uInt(packed.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  packed.resize(zs.total_out);
  deflateEnd(&zs);
  auto path = zip_with_pickle((tmp / "deflated.pth").string(), tensor_pickle(1024, 1024), {{"0", packed}});
  std::string b = read_file(path);
  const std::string name = "archive/data/0";
  auto local = b.find(name) - 30, central = b.find(name, local + 30 + name.size()) - 46;
  auto put = [&](size_t at, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + i] = char((v >> (8 * i)) & 0xFF);
  };
  const uint32_t crc = zip::crc32(plain.data(), plain.size());
  put(local + 8, 8, 2), put(local + 14, crc, 4), put(local + 22, uint32_t(plain.size()), 4);
  put(central + 10, 8, 2), put(central + 16, crc, 4), put(central + 24, uint32_t(plain.size()), 4);
  write_bytes(path, b);
  // The archive itself is valid: the zip reader inflates the record to the plain bytes...
  zip::Reader zr(path);
  REQUIRE(zr.read(name) == plain);
  // ...but as a torch storage it is refused, naming the record.
  require_error(path, "storage record data/0 is compressed");
}
