// tfhub-convert on TF-Hub BigGAN-deep modules (libbiggan/training/tfhub_deep_mapping.h) for every
// fixture module under <fixture root>/tfhub/deep/ (biggan-deep-RES-chN, with bn_stats-*.h5 and
// samples-*.h5 beside it; see tests/fixtures/tfhub/deep/README.md): converted with the fixture's
// BN tables, gan-sample --truncation T reproduces Hugging Face's images, exactly at the grid values
// 1.0 and 0.5, and at 0.505 and 0.14 only with Hugging Face's lookup (its interpolation weights are
// reversed, and 0.14 / 0.02 rounds up to level 8); Hugging Face's converted directory gives the same
// folder; bad table files are one-line errors with nothing written.
#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <regex>

#include "libbiggan/models/truncation_stats.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/load_generator.h"
#include "libbiggan/training/weights_folder.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/fixtures.h"

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

struct DeepCase {
  fs::path module, tables, samples, hf;  // hf: Hugging Face's conversion (may be absent)
  fs::path float64;  // Hugging Face's images computed in float64 (make_float64_images.py; may be absent)
  fs::path hf_tables;  // the tables in Hugging Face's --batch_norm_stats_path format (may be absent)
};

std::vector<DeepCase> deep_cases() {
  std::vector<DeepCase> out;
  const std::regex name("biggan-(deep-[0-9]+-ch[0-9]+)");
  for (const auto& dir : fixture_cases("tfhub/deep")) {
    std::smatch m;
    const std::string base = dir.filename().string();
    if (!std::regex_match(base, m, name) || !fs::exists(dir / "variables" / "variables.index")) continue;
    const std::string tag = m[1];
    DeepCase c{dir, dir.parent_path() / ("bn_stats-" + tag + ".h5"), dir.parent_path() / ("samples-" + tag + ".h5"),
               dir.parent_path() / ("hf-" + tag), {}, {}};
    if (!fs::exists(c.tables) || !fs::exists(c.samples)) continue;
    if (!fs::exists(c.hf / "pytorch_model.bin")) c.hf.clear();
    c.float64 = dir.parent_path() / ("float64-" + tag + ".h5");
    if (!fs::exists(c.float64)) c.float64.clear();
    c.hf_tables = dir.parent_path() / ("bn_stats-" + tag + ".bin");
    if (!fs::exists(c.hf_tables)) c.hf_tables.clear();
    out.push_back(c);
  }
  return out;
}

// The cases that have the optional file `file` (hf, float64, hf_tables).
std::vector<DeepCase> deep_cases_with(fs::path DeepCase::*file) {
  std::vector<DeepCase> out;
  for (const auto& c : deep_cases())
    if (!(c.*file).empty()) out.push_back(c);
  return out;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

struct Samples {
  torch::Tensor z, labels, truncation, images;  // z [T, B, dim_z], images [T, B, 3, R, R]
};
Samples read_samples(const fs::path& file) {
  const auto f = h5::File::open_read(file.string());
  return {f.read("z"), f.read("labels"), f.read("truncation"), f.read("images")};
}

// gan-sample --latents (z of truncation index t, the labels) --truncation T: the images.
torch::Tensor sample(const fs::path& weights, const Samples& s, int64_t t, const std::string& lookup, const TempDir& tmp) {
  const auto latents = tmp / ("latents" + std::to_string(t) + ".h5");
  if (!fs::exists(latents)) {
    auto f = h5::File::create(latents.string());
    f.write("z", s.z[t].contiguous());
    f.write("y", s.labels.to(torch::kInt64));
  }
  const auto out = tmp / "images.h5";
  fs::remove(out);
  char T[32];
  std::snprintf(T, sizeof T, "%.17g", s.truncation[t].item<double>());
  const auto r = run_tool_cmd("gan-sample", "--weights " + q(weights) + " --latents " + q(latents) + " --truncation " + T +
                                                " --truncation-lookup " + lookup + " --output " + q(out) + " --threads 2",
                              tmp, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("BN statistics of truncation") != std::string::npos);
  return h5::File::open_read(out.string()).read("images");
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

// A bad input: exit 1, one line naming `file` (and `what`), OUT not created.
void expect_clean_failure(const std::string& args, const TempDir& tmp, const std::string& file, const std::string& what) {
  const auto out = tmp / "out";
  const auto r = run_tool_cmd("tfhub-convert", args + " " + q(out), tmp, 300);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find(file) != std::string::npos);
  CHECK(r.err.find(what) != std::string::npos);
  CHECK_FALSE(fs::exists(out));
}

// Protobuf wire encoding, enough for a SavedModel of Const, Identity and Pack nodes.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) out += static_cast<char>((v & 0x7F) | 0x80), v >>= 7;
  return out + static_cast<char>(v);
}
std::string pb_bytes(int field, const std::string& b) { return varint(uint64_t(field) << 3 | 2) + varint(b.size()) + b; }
std::string pb_varint(int field, uint64_t v) { return varint(uint64_t(field) << 3) + varint(v); }
std::string floats(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
}
// Const node `name` of a float vector: tensor_content, or (packed) float_val.
std::string const_node(const std::string& name, const torch::Tensor& v, bool as_float_val) {
  const std::string shape = pb_bytes(2, pb_varint(1, v.numel()));
  const std::string tensor = pb_varint(1, 1) + pb_bytes(2, shape) + (as_float_val ? pb_bytes(5, floats(v)) : pb_bytes(4, floats(v)));
  const std::string attr = pb_bytes(1, "value") + pb_bytes(2, pb_bytes(8, tensor));
  return pb_bytes(1, pb_bytes(1, name) + pb_bytes(2, "Const") + pb_bytes(5, attr));
}
std::string node(const std::string& name, const std::string& op, const std::vector<std::string>& inputs) {
  std::string n = pb_bytes(1, name) + pb_bytes(2, op);
  for (const auto& i : inputs) n += pb_bytes(3, i);
  return pb_bytes(1, n);
}

// A saved_model.pb whose graph keeps `tables` (HDF5 <scope>/means, /vars) the way FORMAT-deep.md
// says a real module does: Pack nodes stack_N (N = 1, 3, 6, 8, 11, ...) of one Const per level, some
// through an Identity; `drop` leaves that Pack out.
std::string saved_model_with_tables(const fs::path& tables, const std::string& drop = "") {
  const auto f = h5::File::open_read(tables.string());
  std::vector<std::string> scopes;
  for (int64_t i = 0;; ++i) {
    const std::string block = i == 0 ? "Generator/GBlock" : "Generator/GBlock_" + std::to_string(i);
    if (!f.exists(block + "/BatchNorm/means")) break;
    for (int k = 0; k < 4; ++k) scopes.push_back(block + (k ? "/BatchNorm_" + std::to_string(k) : "/BatchNorm"));
  }
  scopes.push_back("Generator/BatchNorm");
  std::string graph;
  const int offsets[] = {1, 3, 6, 8};
  for (size_t k = 0; k < 2 * scopes.size(); ++k) {
    const auto table = f.read(scopes[k / 2] + (k % 2 ? "/vars" : "/means"));
    const std::string pack = "stack_" + std::to_string(10 * (k / 4) + offsets[k % 4]);
    std::vector<std::string> inputs;
    for (int64_t l = 0; l < table.size(0); ++l) {
      const std::string c = "table_" + std::to_string(k) + "/level_" + std::to_string(l);
      graph += const_node(c, table[l], l % 2 == 1);
      if (l % 3 == 0) {
        graph += node(c + "/read", "Identity", {c});
        inputs.push_back(c + "/read:0");
      } else {
        inputs.push_back(c);
      }
    }
    if (pack != drop) graph += node(pack, "Pack", inputs);
    graph += node("stack_" + std::to_string(10 * (k / 4) + offsets[k % 4] + 1), "Pack", {"unrelated"});
  }
  const std::string meta = pb_bytes(2, graph);
  return pb_varint(1, 1) + pb_bytes(2, meta);
}

}  // namespace

TEST_CASE("tfhub-convert: BigGAN-deep modules with their BN tables give Hugging Face's images", "[tfhub][deep]") {
  const auto cases = deep_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no BigGAN-deep fixture module under any fixture root's tfhub/deep/");
    return;
  }
  for (const auto& c : cases) {
    SECTION(c.module.string()) {
      TempDir tmp;
      const auto out = tmp / "deep";
      auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(out) + " --bn-stats " + q(c.tables), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(r.err.find("biggan-deep-") != std::string::npos);
      const auto state = load_weights_folder(out, "", {"state_dict"}).state;
      REQUIRE(state);
      CHECK(state->config.model == "BigGANdeep");
      CHECK(state->config.G_BN_levels == 51);
      CHECK(state->config.G_output_BN_eps == 1e-4);
      const auto G = torchfile::load_state_dict((out / "G.pth").string());
      CHECK(G["output_layer.0.truncation_means"].size(0) == 51);
      CHECK(torch::equal(G["output_layer.0.stored_mean"], G["output_layer.0.truncation_means"][50]));

      const auto s = read_samples(c.samples);
      for (int64_t t = 0; t < s.truncation.size(0); ++t) {
        const double T = s.truncation[t].item<double>();
        INFO("truncation " << T);
        const auto want = s.images[t];
        // Float32 noise: each float32 run is up to 1.7e-5 from the float64 answer (the float64 test
        // below: ours 3.9e-6 / 9.6e-6 / 1.1e-5 / 1.7e-5, Hugging Face's 4.6e-6 / 1.0e-5 / 6.9e-6 /
        // 7.5e-6 at 1, 0.5, 0.505, 0.14), so two of them differ by up to 1.9e-5 (1.7e-5 at 0.5);
        // the exactness of the mapping is the float64 test's 5e-14.
        const double noise = 3e-5;
        const double linear = max_diff(sample(out, s, t, "linear", tmp), want);
        if (T == 1.0 || T == 0.5) {
          CHECK(linear <= noise);  // a grid level: no interpolation either way
        } else {
          // Between levels (0.505) or at a level Hugging Face's float division misses (0.14 / 0.02 =
          // 7.000000000000001: it takes level 8 with weight 1 - 8.9e-16), only its own lookup agrees.
          CHECK(max_diff(sample(out, s, t, "huggingface", tmp), want) <= noise);
          CHECK(linear > 1e-4);
        }
      }
    }
  }
}

// The mapping itself, without float32 noise: the converted G in float64 against Hugging Face's model
// in float64 (both from the same float32 weights, tables and u0; make_float64_images.py). A float32
// image of either is about 1e-5 from this answer (measured on the fixture at truncation 1, 0.5,
// 0.505, 0.14: Hugging Face's own float32 images 4.6e-6, 1.0e-5, 6.9e-6, 7.5e-6 — and rerun on this
// machine they differ from themselves by up to 1.1e-5 —; ours 3.9e-6, 9.6e-6, 1.1e-5, 1.7e-5), so two
// float32 runs may differ by 2e-5 where the float64 computations agree to 5e-14.
TEST_CASE("tfhub-convert: BigGAN-deep in float64 computes Hugging Face's float64 images", "[tfhub][deep]") {
  const auto cases = deep_cases_with(&DeepCase::float64);
  if (cases.empty()) {
    BIGGAN_SKIP("no float64-deep-* images beside a BigGAN-deep fixture module (tests/fixtures has one)");
    return;
  }
  for (const auto& c : cases) {
    SECTION(c.module.string()) {
      TempDir tmp;
      const auto out = tmp / "deep";
      const auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(out) + " --bn-stats " + q(c.tables), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      GeneratorSource source;
      source.weights = out.string();
      auto loaded = load_generator(source);
      auto& G = *loaded.G;
      G.to(torch::kFloat64);
      const auto s = read_samples(c.float64);
      REQUIRE(s.images.scalar_type() == torch::kFloat64);
      torch::NoGradGuard no_grad;
      for (int64_t t = 0; t < s.truncation.size(0); ++t) {
        const double T = s.truncation[t].item<double>();
        INFO("truncation " << T);
        REQUIRE(select_truncation_statistics(G, T, TruncationLookup::kHuggingFace) > 0);
        const auto images = G.forward(s.z[t].to(torch::kFloat64), G.shared(s.labels.to(torch::kInt64)));
        REQUIRE(images.scalar_type() == torch::kFloat64);
        CHECK(max_diff(images, s.images[t]) <= 1e-12);  // measured 1.2e-14 .. 5.0e-14
      }
    }
  }
}

TEST_CASE("tfhub-convert: Hugging Face's BigGAN-deep directory gives the module's folder", "[tfhub][deep]") {
  const auto cases = deep_cases_with(&DeepCase::hf);
  if (cases.empty()) {
    BIGGAN_SKIP("no hf-deep-* directory beside a BigGAN-deep fixture module (the shared fixtures have one)");
    return;
  }
  for (const auto& c : cases) {
    SECTION(c.hf.string()) {
      TempDir tmp;
      const auto from_module = tmp / "module", from_hf = tmp / "hf";
      auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(from_module) + " --bn-stats " + q(c.tables), tmp, 600);
      REQUIRE(r.exit_code == 0);
      r = run_tool_cmd("tfhub-convert", q(c.hf) + " " + q(from_hf), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      const auto a = torchfile::load_state_dict((from_module / "G.pth").string());
      const auto b = torchfile::load_state_dict((from_hf / "G.pth").string());
      REQUIRE(a.keys() == b.keys());
      for (const auto& item : a) {
        INFO(item.key());
        if (item.key().size() > 3 && item.key().substr(item.key().size() - 3) == ".u0") continue;  // not kept by HF
        CHECK(torch::equal(item.value(), b[item.key()]));
      }
      const auto sa = load_weights_folder(from_module, "", {"state_dict"}).state;
      const auto sb = load_weights_folder(from_hf, "", {"state_dict"}).state;
      CHECK(sa->config.to_json().dump() == sb->config.to_json().dump());
      // HF's u (one power iteration from TF's u0) becomes a u0 with the same first iteration.
      const auto s = read_samples(c.samples);
      CHECK(max_diff(sample(from_hf, s, 0, "linear", tmp), s.images[0]) <= 1e-5);
    }
  }
}

TEST_CASE("tfhub-convert: Hugging Face's .bin tables (numpy arrays) give the folder the HDF5 tables give", "[tfhub][deep]") {
  const auto cases = deep_cases_with(&DeepCase::hf_tables);
  if (cases.empty()) {
    BIGGAN_SKIP("no bn_stats-deep-*.bin beside a BigGAN-deep fixture module (tests/fixtures has one)");
    return;
  }
  for (const auto& c : cases) {
    SECTION(c.hf_tables.string()) {
      TempDir tmp;
      const auto from_h5 = tmp / "h5", from_bin = tmp / "bin";
      auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(from_h5) + " --bn-stats " + q(c.tables), tmp, 600);
      REQUIRE(r.exit_code == 0);
      r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(from_bin) + " --bn-stats " + q(c.hf_tables), tmp, 600);
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      CHECK(r.err.find("51-level BN tables from") != std::string::npos);
      for (const char* file : {"G.pth", "G_ema.pth"}) {
        INFO(file);
        CHECK(read_file(from_h5 / file) == read_file(from_bin / file));
      }
      // state_dict.pth: the same config (its provenance names the command, hence the tables' file).
      const auto a = load_weights_folder(from_h5, "", {"state_dict"}).state;
      const auto b = load_weights_folder(from_bin, "", {"state_dict"}).state;
      CHECK(a->config.to_json().dump() == b->config.to_json().dump());
    }
  }
}

TEST_CASE("tfhub-convert: a BigGAN-deep module without tables keeps its accumulated statistics", "[tfhub][deep]") {
  const auto cases = deep_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no BigGAN-deep fixture module");
    return;
  }
  TempDir tmp;
  const auto& c = cases.front();
  const auto out = tmp / "deep";
  auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(out), tmp, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto state = load_weights_folder(out, "", {"state_dict"}).state;
  CHECK(state->config.G_BN_levels == 0);
  // The fixture's accumulated_* are its truncation-1 level: Hugging Face's images at 1.0.
  const auto s = read_samples(c.samples);
  REQUIRE(s.truncation[0].item<double>() == 1.0);
  {
    auto f = h5::File::create((tmp / "z.h5").string());
    f.write("z", s.z[0].contiguous());
    f.write("y", s.labels.to(torch::kInt64));
  }
  r = run_tool_cmd("gan-sample", "--weights " + q(out) + " --latents " + q(tmp / "z.h5") + " --output " +
                                     q(tmp / "images.h5") + " --threads 2", tmp, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(max_diff(h5::File::open_read((tmp / "images.h5").string()).read("images"), s.images[0]) <= 1e-5);
  // Without tables, --truncation (with --latents: the BN statistics only) means standing statistics at T.
  r = run_tool_cmd("gan-sample", "--weights " + q(out) + " --latents " + q(tmp / "z.h5") +
                                     " --truncation 0.5 --num-standing-accumulations 2 --output " + q(tmp / "images2.h5"),
                   tmp, 600);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("biggan-deep-128 keeps no BN statistics per truncation") != std::string::npos);
}

TEST_CASE("tfhub-convert: bad --bn-stats files are one-line errors, nothing written", "[tfhub][deep]") {
  const auto cases = deep_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no BigGAN-deep fixture module");
    return;
  }
  const auto& c = cases.front();
  const std::string module = q(c.module) + " --bn-stats ";
  TempDir tmp;
  SECTION("missing file") { expect_clean_failure(module + q(tmp / "none.h5"), tmp, "none.h5", "no such file"); }
  SECTION("a table missing") {
    auto f = h5::File::create((tmp / "part.h5").string());
    f.write("Generator/GBlock/BatchNorm/means", torch::zeros({51, 128}));
    f.write("Generator/GBlock/BatchNorm/vars", torch::ones({51, 128}));
    f.close();
    expect_clean_failure(module + q(tmp / "part.h5"), tmp, "part.h5", "no table 'Generator/GBlock/BatchNorm_1/means'");
  }
  SECTION("tables of the wrong width or level count") {
    const auto src = h5::File::open_read(c.tables.string());
    for (const char* bad : {"width", "levels"}) {
      const auto file = tmp / (std::string(bad) + ".h5");
      auto f = h5::File::create(file.string());
      // Copy every table, spoiling the output BN's (the last in the module's order).
      std::function<void(const std::string&)> copy = [&](const std::string& group) {
        for (const auto& name : src.list(group)) {
          const std::string path = group + "/" + name;
          if (src.is_group(path)) { copy(path); continue; }
          auto t = src.read(path);
          if (path.rfind("Generator/BatchNorm/", 0) == 0)
            t = std::string(bad) == "width" ? torch::cat({t, t}, 1) : t.slice(0, 0, 50);
          f.write(path, t.contiguous());
        }
      };
      copy("Generator");
      f.close();
      INFO(bad);
      expect_clean_failure(module + q(file), tmp, file.filename().string(),
                           std::string(bad) == "width" ? "Generator/BatchNorm" : "levels");
    }
  }
  SECTION("a torch file that is no list of tables") {
    torchfile::save((tmp / "t.bin").string(), c10::IValue(torch::zeros({51, 4})));
    expect_clean_failure(module + q(tmp / "t.bin"), tmp, "t.bin", "not a list of tables");
    c10::impl::GenericList l(c10::TensorType::get());
    l.push_back(torch::zeros({51, 4}));
    torchfile::save((tmp / "short.bin").string(), c10::IValue(l));
    expect_clean_failure(module + q(tmp / "short.bin"), tmp, "short.bin", "holds 1 tables");
  }
  SECTION("--bn-stats for a BigGAN (v2) module") {
    for (const auto& dir : fixture_cases("tfhub"))
      if (fs::exists(dir / "variables" / "variables.index") && dir.filename().string().rfind("biggan-deep", 0) != 0) {
        expect_clean_failure(q(dir) + " --bn-stats " + q(c.tables), tmp, c.tables.filename().string(), "BigGAN-deep");
        break;
      }
  }
  SECTION("--no-ema on a module without the raw weights") {
    if (!fs::exists(c.module / "variables")) return;
    const auto r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(tmp / "raw") + " --no-ema --bn-stats " + q(c.tables), tmp, 600);
    // The committed module keeps only the EMA copies; the shared one has both.
    if (r.exit_code != 0) {
      CHECK(r.err.find("no tensor 'Generator/GenZ/G_linear/w'") != std::string::npos);
      CHECK_FALSE(fs::exists(tmp / "raw"));
    } else {
      CHECK_FALSE(fs::exists(tmp / "raw" / "G_ema.pth"));
    }
  }
}

TEST_CASE("tfhub-convert: BN tables from the graph constants of saved_model.pb", "[tfhub][deep]") {
  const auto cases = deep_cases();
  if (cases.empty()) {
    BIGGAN_SKIP("no BigGAN-deep fixture module");
    return;
  }
  const auto& c = cases.front();
  TempDir tmp;
  const auto module = tmp / "module";
  fs::create_directories(module / "variables");
  for (const auto& e : fs::directory_iterator(c.module / "variables"))
    fs::copy_file(e.path(), module / "variables" / e.path().filename());
  fs::copy_file(c.module / "tfhub_module.pb", module / "tfhub_module.pb");
  std::ofstream(module / "saved_model.pb", std::ios::binary) << saved_model_with_tables(c.tables);

  const auto from_graph = tmp / "graph", from_file = tmp / "file";
  auto r = run_tool_cmd("tfhub-convert", q(module) + " " + q(from_graph), tmp, 600);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("51-level BN tables from") != std::string::npos);
  CHECK(r.err.find("saved_model.pb") != std::string::npos);
  r = run_tool_cmd("tfhub-convert", q(c.module) + " " + q(from_file) + " --bn-stats " + q(c.tables), tmp, 600);
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(from_graph / "G.pth") == read_file(from_file / "G.pth"));

  // A Pack missing once the graph has stack_1: an error naming the file and the node.
  std::ofstream(module / "saved_model.pb", std::ios::binary | std::ios::trunc) << saved_model_with_tables(c.tables, "stack_16");
  expect_clean_failure(q(module), tmp, "saved_model.pb", "'stack_16'");
}

TEST_CASE("gan-sample --truncation on a converted BigGAN (v2) folder: standing statistics at T", "[tfhub][deep]") {
  std::vector<fs::path> modules;
  for (const auto& dir : fixture_cases("tfhub"))
    if (fs::exists(dir / "variables" / "variables.index")) modules.push_back(dir);
  if (modules.empty()) {
    BIGGAN_SKIP("no TF-Hub BigGAN fixture module");
    return;
  }
  TempDir tmp;
  const auto out = tmp / "v2";
  auto r = run_tool_cmd("tfhub-convert", q(modules.front()) + " " + q(out), tmp, 600);
  REQUIRE(r.exit_code == 0);
  const auto before = torchfile::load_state_dict((out / "G_ema.pth").string());
  auto run = [&](const std::string& extra, const fs::path& images) {
    auto rr = run_tool_cmd("gan-sample", "--weights " + q(out) + " --num 4 --batch-size 4 --seed 1 --output " + q(images) +
                                             " --threads 2 " + extra, tmp, 600);
    INFO(rr.err);
    REQUIRE(rr.exit_code == 0);
    return rr.err;
  };
  const std::string said = run("--truncation 0.4 --num-standing-accumulations 3", tmp / "a.h5");
  CHECK(said.find("standing statistics of") != std::string::npos);
  CHECK(said.find("at truncation 0.4") != std::string::npos);
  // Without --truncation: the module's statistics, as before; the folder itself is not changed.
  CHECK(run("", tmp / "b.h5").find("standing statistics") == std::string::npos);
  const auto after = torchfile::load_state_dict((out / "G_ema.pth").string());
  for (const auto& item : before) CHECK(torch::equal(item.value(), after[item.key()]));
  const auto a = h5::File::open_read((tmp / "a.h5").string()).read("images");
  const auto b = h5::File::open_read((tmp / "b.h5").string()).read("images");
  CHECK_FALSE(torch::equal(a, b));
}
