// Bad values from flags and files are refused before anything is written: training settings
// (non-finite, out of range, a log style that would reach snprintf), resume states, generator
// weights with NaNs, and gan-sample's own numbers. Each case makes its own tiny model and data.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "libbiggan/models/model.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/load_generator.h"
#include "libbiggan/training/train_state.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

ToolRun run(const TempDir& dir, const std::string& tool, const std::string& args) {
  return run_tool_cmd(tool, "--threads 1 " + args, dir);
}

Config tiny_config() {
  Config c;
  c.resolution = 32;
  c.n_classes = 3;
  c.G_ch = c.D_ch = 4;
  c.dim_z = 8;
  c.G_attn = c.D_attn = "0";
  c.batch_size = 4;
  return c;
}

// A training file of 8 random 32x32 images in 3 classes.
fs::path tiny_training_file(const TempDir& dir) {
  const auto path = dir / "tiny.hdf5";
  torch::manual_seed(1);
  auto f = h5::File::create(path.string());
  f.write("imgs", torch::randint(0, 256, {8, 3, 32, 32}, torch::kUInt8));
  f.write("labels", torch::arange(8, torch::kInt64) % 3);
  f.close();
  return path;
}

// A weights folder (G.pth + state_dict.pth with its config), as gan-sample reads one.
void write_generator_folder(const fs::path& dir, const Config& cfg, bool poison_with_nan) {
  fs::create_directories(dir);
  torch::manual_seed(0);
  Generator G = make_generator(model_config(cfg));
  auto sd = state_dict(*G);
  if (poison_with_nan) {
    torch::NoGradGuard ng;
    sd["linear.weight"].view(-1)[3] = std::numeric_limits<float>::quiet_NaN();
  }
  torchfile::save_state_dict((dir / "G.pth").string(), sd);
  TrainState state;
  state.config = cfg;
  torchfile::save((dir / "state_dict.pth").string(), state.to_ivalue());
}

bool folder_is_empty(const fs::path& dir) { return !fs::exists(dir) || fs::is_empty(dir); }

}  // namespace

TEST_CASE("training settings: non-finite and out-of-range values are refused, naming the flag", "[validation]") {
  struct Bad {
    std::vector<std::string> flags;
    std::string expect;
  };
  const std::vector<Bad> bad = {
      {{"--G_lr", "nan"}, "--G_lr"},
      {{"--D_lr", "inf"}, "--D_lr"},
      {{"--D_lr", "-1e-4"}, "--D_lr"},
      {{"--adam_eps", "0"}, "--adam_eps"},
      {{"--G_B2", "1"}, "--G_B2"},
      {{"--D_B1", "-0.5"}, "--D_B1"},
      {{"--ema_decay", "1.5"}, "--ema_decay"},
      {{"--z_var", "nan"}, "z_var"},
      {{"--SN_eps", "0"}, "SN_eps"},
      {{"--BN_eps", "-1"}, "BN_eps"},
      {{"--num_D_steps", "-1"}, "--num_D_steps"},
      {{"--batch_size", "0"}, "--batch_size"},
      {{"--num_G_accumulations", "0"}, "--num_G_accumulations"},
      {{"--save_every", "-1"}, "--save_every"},
      {{"--sv_log_interval", "-2"}, "--sv_log_interval"},
      {{"--test_every", "-3"}, "--test_every"},
      {{"--num_standing_accumulations", "-1"}, "--num_standing_accumulations"},
      {{"--which_best", "KID"}, "--which_best"},
      {{"--logstyle", "%s%e"}, "--logstyle"},
      {{"--logstyle", "%3.3e %n"}, "--logstyle"},
      {{"--logstyle", "abc"}, "--logstyle"},
  };
  for (const auto& b : bad) {
    Config c = tiny_config();
    c.apply_reference_flags(b.flags, "flags");
    INFO(b.flags[0] << " " << b.flags[1]);
    CHECK_THROWS_WITH(c.validate_training("flags"), Catch::Contains(b.expect));
  }
  Config ok = tiny_config();
  for (const char* style : {"%3.3e", "%.6f", "%g", "%+10.4E"}) {
    ok.logstyle = style;
    CHECK_NOTHROW(ok.validate_training("flags"));
  }
}

TEST_CASE("gan-train: a bad flag is refused before any folder or log is written", "[validation][tool]") {
  TempDir tmp;
  const auto data = tiny_training_file(tmp);
  const auto root = tmp / "root";
  fs::create_directories(root);
  const std::string base = "--dataset I32_hdf5 --data_path " + data.string() + " --n_classes 3 --base_root " + root.string() +
                           " --G_ch 4 --D_ch 4 --dim_z 8 --G_attn 0 --D_attn 0 --batch_size 4 --total_itr 1 ";
  struct Bad {
    std::string flags, expect;
  };
  const std::vector<Bad> bad = {
      {"--num_D_steps -1", "--num_D_steps"},
      {"--G_lr nan", "--G_lr"},
      {"--eval_samples -5", "--eval_samples"},
      {"--logstyle %s%e", "--logstyle"},
      {"--loader_threads 0", "--loader_threads"},
      // The reference's flags with no job in gan-train are refused, not ignored.
      {"--no_fid", "--no_fid true does nothing in gan-train: choose the test's metrics with --metrics"},
      {"--pbar tqdm", "--pbar \"tqdm\" does nothing in gan-train"},
      {"--log_G_spectra", "--log_G_spectra true does nothing in gan-train: the reference does nothing with it"},
      {"--sample_npz", "--sample_npz true does nothing in gan-train: it is sample.py's: gan-sample --sample-npz"},
      {"--sample_trunc_curves 0.5_0.5_1", "gan-sample --truncation-curve"},
  };
  for (const auto& b : bad) {
    auto r = run(tmp, "gan-train", base + b.flags);
    INFO(b.flags << " -> rc " << r.exit_code << ": " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(b.expect) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(folder_is_empty(root));
  }
  // Given with their defaults, they ask for nothing and pass.
  auto r = run(tmp, "gan-train", base + "--pbar mine --num_workers 0 --no_sheets");
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("a resume state with negative counters or NaN bests is refused", "[validation]") {
  for (const char* key : {"itr", "epoch", "save_num", "save_best_num"}) {
    TrainState s;
    s.config = tiny_config();
    if (std::string(key) == "itr") s.itr = -5;
    if (std::string(key) == "epoch") s.epoch = -1;
    if (std::string(key) == "save_num") s.save_num = -2;
    if (std::string(key) == "save_best_num") s.save_best_num = -1;
    INFO(key);
    CHECK_THROWS_WITH(TrainState::from_ivalue(s.to_ivalue(), "state_dict.pth"),
                      Catch::Contains("state_dict.pth") && Catch::Contains(std::string("'") + key + "'"));
  }
  TrainState s;
  s.best_IS = std::nan("");
  CHECK_THROWS_WITH(TrainState::from_ivalue(s.to_ivalue(), "state_dict.pth"), Catch::Contains("NaN"));
  TrainState fine;
  fine.itr = 7;
  CHECK(TrainState::from_ivalue(fine.to_ivalue(), "state_dict.pth").itr == 7);
}

TEST_CASE("weights with NaNs are refused by the loader and by gan-sample, which writes nothing", "[validation][tool]") {
  TempDir tmp;
  const Config cfg = tiny_config();
  write_generator_folder(tmp / "good", cfg, false);
  write_generator_folder(tmp / "nan", cfg, true);

  GeneratorSource src;
  src.weights = (tmp / "nan").string();
  src.which = "G";
  CHECK_THROWS_WITH(load_generator(src), Catch::Contains("G.pth") && Catch::Contains("NaN") &&
                                             Catch::Contains("linear.weight"));
  src.weights = (tmp / "good").string();
  CHECK_NOTHROW(load_generator(src));

  const auto out = tmp / "out.h5";
  auto r = run(tmp, "gan-sample", "--weights " + (tmp / "nan").string() + " --num 4 --output " + out.string());
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("NaN") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(!fs::exists(out));

  const std::string good = "--weights " + (tmp / "good").string() + " --num 4 --output " + out.string();
  for (const std::string& bad : {std::string(" --accumulate-stats --num-standing-accumulations -1"),
                                 std::string(" --z-var inf"), std::string(" --truncation nan")}) {
    r = run(tmp, "gan-sample", good + bad);
    INFO(bad << " -> " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(!fs::exists(out));
  }
  r = run(tmp, "gan-sample", good);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(fs::exists(out));
}
