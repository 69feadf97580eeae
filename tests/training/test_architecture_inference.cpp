// The architecture read off the tensors (models/architecture_inference.h, training/config_from_tensors.h):
// for every fixture case the inferred config is the true one; gan-sample samples a checkpoint
// without a config, with a wrong one and with one that lacks G_depth exactly as the right one;
// ckpt-inspect reports the architecture and where the stored config disagrees.
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "libbiggan/models/architecture_inference.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/config_from_tensors.h"
#include "libbiggan/training/trainer.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"
#include "tests/training/tiny_run.h"

// Last: LibTorch's glog headers define their own CHECK, Catch's must win.
#include <catch2/catch.hpp>

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

Config fixture_config(const fs::path& dir) {
  const auto path = (dir / "config.json").string();
  return Config::from_json(Json::parse_file(path), path);
}

std::vector<fs::path> all_cases() {
  auto cases = fixture_cases("biggan");
  for (const auto& c : fixture_cases("model_oracle")) cases.push_back(c);
  return cases;
}

// The same architecture in another spelling: dim_z floored alike by hier's chunks, shared_dim 0
// for dim_z, bn for in (the tensors of both look alike).
std::string normalised(const ModelConfig& c, const std::string& f) {
  if (f == "dim_z" && c.hier && c.model == "BigGAN") {
    // hier splits z into one chunk per G stage and one for linear: 32 -> 4 ... 512 -> 8.
    const int64_t slots = c.resolution == 32 ? 4 : c.resolution == 64 ? 5 : c.resolution == 128 ? 6 : c.resolution == 256 ? 7 : 8;
    return "chunk " + std::to_string(c.dim_z / slots);
  }
  if (f == "G_attn" || f == "D_attn") {  // only the resolutions the stages have count ("64" at 32 is none)
    const int64_t lo = f == "G_attn" ? 8 : 4, hi = f == "G_attn" ? c.resolution : c.resolution / 2;
    std::string kept;
    for (int64_t r : parse_attention(f == "G_attn" ? c.G_attn : c.D_attn))
      if (r >= lo && r <= hi) kept += std::to_string(r) + "_";
    return kept;
  }
  if (f == "shared_dim") return std::to_string(c.effective_shared_dim());
  if (f == "norm_style" && c.norm_style == "in") return "bn";
  return architecture_field_text(c, f);
}

// gan-sample with stderr captured.
ToolRun sample(const TempDir& tmp, const std::string& args) {
  return run_tool_cmd("gan-sample", "--threads 2 " + args, tmp, 300);
}

// `state` (a state_dict.pth's IValue) with its config entries changed by `edit`.
c10::IValue with_config(const c10::IValue& state, const std::function<void(c10::impl::GenericDict&)>& edit) {
  auto top = state.toGenericDict().copy();
  auto cfg = top.at("config").toGenericDict().copy();
  edit(cfg);
  top.insert_or_assign("config", c10::IValue(cfg));
  return c10::IValue(top);
}

}  // namespace

TEST_CASE("the architecture read off the tensors is the true one for every fixture", "[architecture]") {
  const auto cases = all_cases();
  REQUIRE(!cases.empty());
  for (const auto& dir : cases) {
    INFO("case " << dir.string());
    const ModelConfig truth = model_config(fixture_config(dir));
    const auto G = torchfile::load_state_dict((dir / "init/G.pth").string());
    const auto D = torchfile::load_state_dict((dir / "init/D.pth").string());
    // From nothing but the tensors (the reference's defaults as the base).
    const auto blind = infer_architecture(&G, &D, ModelConfig{}, dir.string());
    CHECK(blind.decided.size() >= 18);
    for (const auto& f : blind.decided) {
      INFO("field " << f);
      CHECK(normalised(blind.config, f) == normalised(truth, f));
    }
    CHECK(architecture_mismatch(blind.config, &G, &D) == "");
    // From the tensors with the true config as the base: nothing changes, not even the spelling.
    const auto seeing = infer_architecture(&G, &D, truth, dir.string());
    for (const auto& f : architecture_fields()) {
      INFO("field " << f);
      CHECK(architecture_field_text(seeing.config, f) == architecture_field_text(truth, f));
    }
    // G alone and D alone agree with the pair on what each shows.
    CHECK(infer_architecture(&G, nullptr, ModelConfig{}, "G").config.G_ch == truth.G_ch);
    CHECK(infer_architecture(nullptr, &D, ModelConfig{}, "D").config.D_ch == truth.D_ch);
    CHECK(infer_architecture(nullptr, &D, ModelConfig{}, "D").config.n_classes == truth.n_classes);
  }
}

TEST_CASE("tensors that are no BigGAN G or D are a one-line error naming the source", "[architecture]") {
  StateDict junk;
  junk.insert("conv.weight", torch::zeros({3, 3}));
  CHECK_THROWS_WITH(infer_architecture(&junk, nullptr, ModelConfig{}, "junk.pth"), Catch::Contains("junk.pth"));
  CHECK_THROWS_WITH(infer_architecture(nullptr, &junk, ModelConfig{}, "junk.pth"), Catch::Contains("junk.pth"));
  CHECK_THROWS(infer_architecture(nullptr, nullptr, ModelConfig{}, "none"));
  // G and D of different runs.
  const auto cases = fixture_cases("biggan");
  REQUIRE(cases.size() >= 2);
  const auto G = torchfile::load_state_dict((cases[0] / "init/G.pth").string());
  for (size_t i = 1; i < cases.size(); ++i) {
    const auto D = torchfile::load_state_dict((cases[i] / "init/D.pth").string());
    if (infer_architecture(nullptr, &D, ModelConfig{}, "D").config.resolution ==
        infer_architecture(&G, nullptr, ModelConfig{}, "G").config.resolution)
      continue;
    CHECK_THROWS_WITH(infer_architecture(&G, &D, ModelConfig{}, "mixed"), Catch::Contains("G and D disagree"));
  }
}

TEST_CASE("config keys: stated by a dict, a JSON object, flags (spellings mapped)", "[architecture]") {
  const std::set<std::string> from_flags = flag_keys({"--G_ch", "32", "--D_thin", "--dataset=I64_hdf5", "--hier"});
  const std::set<std::string> want_flags = {"G_ch", "D_wide", "dataset", "resolution", "n_classes", "hier"};
  CHECK(from_flags == want_flags);
  const std::set<std::string> from_json = config_keys(Json::parse(R"({"G_ch": 4, "G_activation": "relu"})"));
  const std::set<std::string> want_json = {"G_ch", "G_activation", "G_nl"};
  CHECK(from_json == want_json);
  // A stated difference is a warning; an explicit key keeps its word; an unstated one follows silently.
  const auto dir = fixture_cases("biggan").front();
  const auto G = torchfile::load_state_dict((dir / "init/G.pth").string());
  Config c = fixture_config(dir);
  const int64_t true_ch = c.G_ch;
  c.G_ch = true_ch * 2;
  c.dim_z += 1;
  ConfigKeys keys;
  keys.stated = {"G_ch"};
  auto r = reconcile_with_tensors(c, keys, &G, nullptr, "x");
  CHECK(r.config.G_ch == true_ch);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("G_ch " + std::to_string(true_ch * 2)) != std::string::npos);
  keys.explicit_ = {"G_ch"};
  CHECK(reconcile_with_tensors(c, keys, &G, nullptr, "x").config.G_ch == true_ch * 2);
}

TEST_CASE("gan-sample: no config, a wrong config, no G_depth: the same images as the right config",
          "[architecture][tool]") {
  const auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  for (const auto& dir : cases) {
    INFO("case " << dir.string());
    TempDir tmp;
    auto io = h5::File::open_read((dir / "io.h5").string());
    {
      auto f = h5::File::create((tmp / "latents.h5").string());
      f.write("z", io.read("z"));
      f.write("y", io.read("y"));
    }
    const std::string latents = " --which G --latents " + (tmp / "latents.h5").string();
    auto r = sample(tmp, "--weights " + (dir / "init").string() + latents + " --output " + (tmp / "right.h5").string());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto right = h5::File::open_read((tmp / "right.h5").string()).read("images");

    const c10::IValue state = torchfile::load((dir / "init/state_dict.pth").string());
    const Config truth = fixture_config(dir);
    struct Variant {
      std::string name;
      std::function<void(c10::impl::GenericDict&)> edit;  // null: no state_dict.pth at all
      std::vector<std::string> warned;                    // fields the warnings must name
    };
    const std::vector<Variant> variants = {
        {"none", nullptr, {}},
        {"wrong",
         [&](c10::impl::GenericDict& c) {
           c.insert_or_assign("G_ch", truth.G_ch * 2);
           c.insert_or_assign("resolution", truth.resolution == 128 ? int64_t(64) : int64_t(128));
           c.insert_or_assign("dim_z", truth.dim_z + 37);
           c.insert_or_assign("G_attn", std::string("8_16"));
           c.insert_or_assign("model", std::string(truth.model == "BigGAN" ? "BigGANdeep" : "BigGAN"));
         },
         {"G_ch", "resolution", "dim_z", "G_attn", "model"}},
        {"no_G_depth", [](c10::impl::GenericDict& c) { (void)c.erase("G_depth"); }, {}},
    };
    for (const auto& v : variants) {
      INFO("variant " << v.name);
      const fs::path w = tmp / v.name;
      fs::create_directories(w);
      fs::copy_file(dir / "init/G.pth", w / "G.pth");
      if (v.edit) torchfile::save((w / "state_dict.pth").string(), with_config(state, v.edit));
      auto run = sample(tmp, "--weights " + w.string() + latents + " --output " + (tmp / (v.name + ".h5")).string());
      INFO(run.err);
      REQUIRE(run.exit_code == 0);
      CHECK(torch::equal(h5::File::open_read((tmp / (v.name + ".h5")).string()).read("images"), right));
      for (const auto& f : v.warned) CHECK(run.err.find("config says " + f + " ") != std::string::npos);
      if (v.name == "none") CHECK(run.err.find("assuming the reference's G_nl relu") != std::string::npos);
      if (v.name == "no_G_depth") CHECK(run.err.find("warning") == std::string::npos);
    }
  }
}

TEST_CASE("ckpt-inspect prints the architecture and what the stored config gets wrong", "[architecture][tool]") {
  const auto dir = fixture_cases("biggan").front();
  const Config truth = fixture_config(dir);
  TempDir tmp;
  const fs::path w = tmp / "w";
  fs::create_directories(w);
  fs::copy_file(dir / "init/G.pth", w / "G.pth");
  fs::copy_file(dir / "init/D.pth", w / "D.pth");
  const c10::IValue state = torchfile::load((dir / "init/state_dict.pth").string());
  torchfile::save((w / "state_dict.pth").string(),
                  with_config(state, [&](c10::impl::GenericDict& c) { c.insert_or_assign("D_ch", truth.D_ch + 1); }));
  const std::string cmd = "'" + tool_path("ckpt-inspect").string() + "' --json '" + w.string() + "' > '" +
                          (tmp / "out.json").string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const Json report = Json::parse(read_file(tmp / "out.json"));
  REQUIRE(report.contains("architecture"));
  const Json& a = report["architecture"];
  CHECK(a["fits"].as_bool());
  CHECK(a["config"]["D_ch"].as_string() == std::to_string(truth.D_ch));
  CHECK(a["config"]["G_ch"].as_string() == std::to_string(truth.G_ch));
  CHECK(a["config"]["n_classes"].as_string() == std::to_string(truth.n_classes));
  REQUIRE(a["differences"].as_array().size() == 1);
  CHECK(a["differences"].as_array()[0].as_string().find("D_ch") != std::string::npos);
  CHECK(a["assumed"].as_array().size() >= 4);
  // The text form says the same for people.
  const std::string text_cmd = "'" + tool_path("ckpt-inspect").string() + "' '" + w.string() + "' > '" +
                               (tmp / "out.txt").string() + "'";
  REQUIRE(std::system(text_cmd.c_str()) == 0);
  const std::string text = read_file(tmp / "out.txt");
  CHECK(text.find("architecture (from the G and D tensors): " + truth.model) != std::string::npos);
  CHECK(text.find("stored config disagrees: config says D_ch") != std::string::npos);
}

TEST_CASE("gan-train --resume: architecture flags left out follow the save's tensors", "[architecture]") {
  torch::set_num_threads(1);
  TempDir tmp;
  const auto data = make_tiny_data(tmp.path);
  auto first = parse_train_command(tiny_args(tmp.path, data, {"--total_itr", "2", "--save_every", "2", "--experiment_name", "tiny"}));
  Trainer(first.config, first.options).run();
  // The resume leaves out --G_ch 4 and --dim_z 8 (the parser's defaults are 64 and 128).
  auto args = tiny_args(tmp.path, data, {"--total_itr", "3", "--save_every", "3", "--experiment_name", "tiny", "--resume"});
  for (const char* flag : {"--G_ch", "--dim_z"}) {
    auto it = std::find(args.begin(), args.end(), flag);
    REQUIRE(it != args.end());
    args.erase(it, it + 2);
  }
  auto cmd = parse_train_command(args);
  CHECK(cmd.config.G_ch == 64);
  Trainer resumed(cmd.config, cmd.options);
  CHECK(resumed.gan().config.G_ch == 4);
  CHECK(resumed.gan().config.dim_z == 8);
  CHECK(resumed.run().itr == 3);
  // A flag given on the command line keeps its word: one that contradicts the save fails the load.
  auto wrong = parse_train_command(tiny_args(
      tmp.path, data, {"--total_itr", "4", "--experiment_name", "tiny", "--resume", "--D_ch", "16"}));
  CHECK_THROWS_WITH(Trainer(wrong.config, wrong.options), Catch::Contains("D.pth") && Catch::Contains("shape"));
}
