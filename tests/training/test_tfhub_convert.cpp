// tfhub-convert (libbiggan/training/tfhub_convert.h) on every TF-Hub BigGAN fixture module found
// under <fixture root>/tfhub/ (tests/fixtures/tfhub/ in the repository, ../shared/fixtures/tfhub/
// beside it): the written G.pth holds the reference converter's tensors key by key, gan-sample
// --latents reproduces the reference's samples, the HDF5 dump gives the same folder byte for byte,
// and every bad input is a one-line error naming the file (and the tensor) with nothing written.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "libbiggan/serialization/crc32c.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/protobuf_wire.h"
#include "libbiggan/serialization/tf_bundle.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/fixtures.h"

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

// A module directory "biggan-RES-chN" and the reference's files for it beside it.
struct TfHubCase {
  fs::path module;
  fs::path reference_pth;  // biggan-RES.pth: converter.convert_biggan()'s output
  fs::path samples;        // samples-RES.h5: z, y, images of the reference G
  fs::path h5_dump;        // biggan-RES.h5: converter.py's dump (may be absent)
};

std::vector<TfHubCase> tfhub_cases() {
  std::vector<TfHubCase> out;
  const std::regex name("biggan-([0-9]+)-ch[0-9]+");
  for (const auto& dir : fixture_cases("tfhub")) {
    std::smatch m;
    const std::string base = dir.filename().string();
    if (!std::regex_match(base, m, name) || !fs::exists(dir / "variables" / "variables.index")) continue;
    const std::string res = m[1];
    TfHubCase c{dir, dir.parent_path() / ("biggan-" + res + ".pth"), dir.parent_path() / ("samples-" + res + ".h5"),
                dir.parent_path() / ("biggan-" + res + ".h5")};
    if (!fs::exists(c.h5_dump)) c.h5_dump.clear();
    out.push_back(c);
  }
  return out;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

bool same_bytes(const fs::path& a, const fs::path& b) { return read_file(a) == read_file(b); }

// converter.py's dump layout (module/<name>:0, "/" as groups), written from the bundle: used where
// the reference's own dump is not in the repository (it is as large as the module).
void write_dump(const fs::path& module, const fs::path& out) {
  tfbundle::BundleReader reader(module / "variables" / "variables");
  auto f = h5::File::create(out.string());
  for (const auto& e : reader.index().tensors) f.write("module/" + e.name + ":0", reader.read(e));
}

fs::path copy_module(const fs::path& module, const fs::path& to) {
  fs::create_directories(to / "variables");
  for (const auto& e : fs::recursive_directory_iterator(module)) {
    if (!e.is_regular_file()) continue;
    const auto dst = to / fs::relative(e.path(), module);
    fs::create_directories(dst.parent_path());
    std::ofstream(dst, std::ios::binary) << read_file(e.path());
  }
  return to;
}

void write_bytes(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes; }

// A bad input: exit 1, one line naming `file` (and `tensor` when given), OUT not created.
void expect_clean_failure(const fs::path& input, const TempDir& tmp, const std::string& file,
                          const std::string& tensor, const std::string& what) {
  const auto out = tmp / "out";
  const auto r = run_tool_cmd("tfhub-convert", q(input) + " " + q(out), tmp, 300);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(file) != std::string::npos);
  if (!tensor.empty()) CHECK(r.err.find("'" + tensor + "'") != std::string::npos);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK_FALSE(fs::exists(out));
}

}  // namespace

TEST_CASE("tfhub-convert: every fixture module gives the reference converter's G and samples", "[tfhub]") {
  const auto cases = tfhub_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no TF-Hub fixture module under any fixture root's tfhub/");
    return;
  }
  for (const auto& c : cases) {
    SECTION(c.module.string()) {
      TempDir tmp;
      const auto out = tmp / "from_module";
      auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(out), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      for (const char* f : {"G.pth", "G_ema.pth", "state_dict.pth"}) CHECK(fs::exists(out / f));

      // Key by key, the reference's tensors (ours adds only the sv0 buffers).
      const auto ref = torchfile::load_state_dict(c.reference_pth.string());
      const auto ours = torchfile::load_state_dict((out / "G.pth").string());
      for (const auto& item : ref) {
        INFO(item.key());
        const auto* t = ours.find(item.key());
        REQUIRE(t);
        CHECK(t->numel() == item.value().numel());
        CHECK(torch::equal(t->reshape(-1), item.value().reshape(-1)));
        // Only the attention gamma differs in shape: [1] there, BigGAN.py's 0-dim parameter here.
        if (t->sizes() != item.value().sizes()) CHECK(item.key().find(".1.gamma") != std::string::npos);
      }
      for (const auto& item : ours)
        if (!ref.contains(item.key())) CHECK(item.key().substr(item.key().size() - 4) == ".sv0");

      // gan-sample needs no flags: the folder's config describes the architecture.
      r = run_tool_cmd("gan-sample", "--weights " + q(out) + " --latents " + q(c.samples) + " --output " +
                                         q(tmp / "images.h5") + " --threads 2", tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const auto want = h5::File::open_read(c.samples.string()).read("images");
      const auto got = h5::File::open_read((tmp / "images.h5").string()).read("images");
      REQUIRE(got.sizes() == want.sizes());
      CHECK((got - want).abs().max().item<double>() <= 1e-5);

      // The HDF5 dump (the reference's when present, else one in its layout) gives the same folder.
      fs::path dump = c.h5_dump;
      if (dump.empty()) write_dump(c.module, dump = tmp / "dump.h5");
      const auto out_h5 = tmp / "from_h5";
      r = run_tool_cmd("tfhub-convert", q(dump) + " " + q(out_h5), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      for (const char* f : {"G.pth", "G_ema.pth"}) CHECK(same_bytes(out / f, out_h5 / f));
      // state_dict.pth: the same state and config; its provenance names the two command lines.
      const auto sa = load_weights_folder(out, "", {"state_dict"}).state, sb = load_weights_folder(out_h5, "", {"state_dict"}).state;
      CHECK(sa->itr == sb->itr);
      CHECK(sa->config.to_json().dump() == sb->config.to_json().dump());
    }
  }
}

TEST_CASE("tfhub-convert --no-ema: the raw weights, no G_ema.pth, the same u0 and statistics", "[tfhub]") {
  const auto cases = tfhub_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no TF-Hub fixture module");
    return;
  }
  TempDir tmp;
  const auto ema = tmp / "ema", raw = tmp / "raw";
  REQUIRE(run_tool_cmd("tfhub-convert", q(cases[0].module) + " " + q(ema), tmp, 600).exit_code == 0);
  const auto r = run_tool_cmd("tfhub-convert", q(cases[0].module) + " " + q(raw) + " --no-ema", tmp, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(raw / "G_ema.pth"));
  const auto a = torchfile::load_state_dict((ema / "G.pth").string());
  const auto b = torchfile::load_state_dict((raw / "G.pth").string());
  CHECK_FALSE(torch::equal(a["blocks.0.0.conv1.weight"], b["blocks.0.0.conv1.weight"]));
  CHECK_FALSE(torch::equal(a["shared.weight"], b["shared.weight"]));
  CHECK(torch::equal(a["blocks.0.0.conv1.u0"], b["blocks.0.0.conv1.u0"]));
  CHECK(torch::equal(a["blocks.0.0.bn1.stored_var"], b["blocks.0.0.bn1.stored_var"]));
  // And the raw values are the module's: the first conv, HWIO -> OIHW.
  tfbundle::BundleReader reader(cases[0].module / "variables" / "variables");
  const auto w = reader.read(*reader.index().find("Generator/GBlock/conv0/w"));
  CHECK(torch::equal(b["blocks.0.0.conv1.weight"], w.permute({3, 2, 0, 1})));
}

TEST_CASE("tfhub-convert: bad modules are one-line errors naming the file and tensor, nothing written", "[tfhub]") {
  const auto cases = tfhub_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no TF-Hub fixture module");
    return;
  }
  const fs::path module = cases[0].module;
  const std::string index_bytes = read_file(module / "variables" / "variables.index");
  const auto index = tfbundle::parse_index(index_bytes, "index");
  const auto& first = index.tensors.front();  // in key order: the first a missing shard names
  const tfbundle::TensorEntry* in_data = nullptr;
  for (const auto& e : index.tensors)
    if (e.size > 0 && (!in_data || e.offset < in_data->offset)) in_data = &e;
  REQUIRE(in_data);
  const std::string shard = "variables.data-00000-of-00001";

  SECTION("missing data shard") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    fs::remove(m / "variables" / shard);
    expect_clean_failure(m, tmp, shard, first.name, "missing data shard");
  }
  SECTION("truncated data shard") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    fs::resize_file(m / "variables" / shard, fs::file_size(m / "variables" / shard) / 2);
    expect_clean_failure(m, tmp, shard, "", "truncated: tensor '");
  }
  SECTION("a tensor's CRC32C") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    std::string data = read_file(m / "variables" / shard);
    data[static_cast<size_t>(in_data->offset)] ^= 0x40;
    write_bytes(m / "variables" / shard, data);
    expect_clean_failure(m, tmp, shard, in_data->name, "CRC32C mismatch");
  }
  SECTION("a block's CRC32C in the index") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    std::string bytes = index_bytes;
    bytes[bytes.size() / 3] ^= 0x01;
    write_bytes(m / "variables" / "variables.index", bytes);
    expect_clean_failure(m, tmp, "variables.index", "", "CRC32C mismatch");
  }
  SECTION("truncated index") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    write_bytes(m / "variables" / "variables.index", index_bytes.substr(0, index_bytes.size() / 2));
    expect_clean_failure(m, tmp, "variables.index", "", "truncated");
  }
  SECTION("unknown dtype (the block CRC made right again)") {
    TempDir tmp;
    auto m = copy_module(module, tmp / "m");
    std::string bytes = index_bytes;
    // One data block at offset 0: it ends 5 bytes (the trailer) before the metaindex block.
    size_t pos = bytes.size() - 48;
    const uint64_t meta = protowire::read_varint(bytes, pos, "footer");
    const size_t block_size = static_cast<size_t>(meta) - 5;
    // The first tensor entry's value begins "08 01 12" (dtype float32, then its shape).
    const size_t at = bytes.find(std::string("\x08\x01\x12", 3), 8);
    REQUIRE(at < block_size);
    bytes[at + 1] = 99;
    std::string block = bytes.substr(0, block_size) + std::string(1, '\0');
    const uint32_t crc = crc32c::mask(crc32c::value(block.data(), block.size()));
    for (int i = 0; i < 4; ++i) bytes[block_size + 1 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    write_bytes(m / "variables" / "variables.index", bytes);
    expect_clean_failure(m, tmp, "variables.index", first.name, "unknown dtype 99");
  }
  SECTION("not a BigGAN module") {
    TempDir tmp;
    {
      auto f = h5::File::create((tmp / "other.h5").string());
      f.write("module/dense/kernel:0", torch::ones({3, 4}));
    }
    expect_clean_failure(tmp / "other.h5", tmp, "other.h5", "", "not a TF-Hub BigGAN (v2) module");
    // BigGAN-deep modules convert now (test_tfhub_deep.cpp); one with the deep generator's first
    // variable alone is still no module.
    {
      auto f = h5::File::create((tmp / "deep.h5").string());
      f.write("module/Generator/GenZ/G_linear/w/ema_0.9999:0", torch::ones({256, 32}));
    }
    expect_clean_failure(tmp / "deep.h5", tmp, "deep.h5", "linear/w/ema_0.9999", "not a TF-Hub BigGAN-deep module");
  }
  SECTION("a directory that is no module, and an output folder in use") {
    TempDir tmp;
    fs::create_directories(tmp / "empty");
    expect_clean_failure(tmp / "empty", tmp, "empty", "", "not a TF-Hub module directory");
    fs::create_directories(tmp / "used");
    write_bytes(tmp / "used" / "keep.txt", "mine");
    const auto r = run_tool_cmd("tfhub-convert", q(module) + " " + q(tmp / "used"), tmp, 300);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("not empty") != std::string::npos);
    CHECK(read_file(tmp / "used" / "keep.txt") == "mine");
    CHECK(std::distance(fs::directory_iterator(tmp / "used"), fs::directory_iterator()) == 1);
  }
}
