// gan-sample and the sampling library: the built tool against every fixture case (eval mode and
// batch statistics, HDF5 output, the stream, the npz), truncation (range, distribution, scipy's
// truncnorm as oracle), sheets, standing statistics and clean errors for bad inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/models/layers.h"
#include "libbiggan/models/model.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/load_generator.h"
#include "libbiggan/training/sampling.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

struct ToolRun {
  int rc = -1;
  std::string err;  // stderr
};

// Runs gan-sample with `args` (shell words), stdout to `out_file`.
ToolRun gan_sample(const TempDir& dir, const std::string& args, const std::string& out_file = "/dev/null") {
  const auto tool = tool_path("gan-sample");
  REQUIRE(fs::exists(tool));
  const auto err_path = dir / "stderr.txt";
  // Two threads: the fixture cases were made with two (batch statistics follow the reduction order).
  const std::string cmd = tool.string() + " --threads 2 " + args + " >" + out_file + " 2>" + err_path.string();
  const int st = std::system(cmd.c_str());
  ToolRun r;
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = read_file(err_path);
  return r;
}

void write_latents(const fs::path& path, const torch::Tensor& z, const torch::Tensor& y) {
  auto f = h5::File::create(path.string());
  f.write("z", z);
  f.write("y", y);
  f.close();
}

// atol: 1e-5 for eval mode; batch statistics (train mode) amplify the kernels' per-CPU rounding, and
// the fixtures were made on another CPU (tests/models/test_model_parity.cpp, kTrainOutAtol).
void check_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what, double atol = 1e-5) {
  INFO(what);
  REQUIRE(got.sizes() == want.sizes());
  const double diff = (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().max().item<double>();
  std::cout << "    " << what << " max abs diff " << diff << "\n";
  CHECK(torch::allclose(got.to(want.scalar_type()), want, 1e-4, atol));
}

Generator fixture_generator(const fs::path& dir) {
  const auto cfg_path = (dir / "config.json").string();
  Config cfg = Config::from_json(Json::parse_file(cfg_path), cfg_path);
  torch::manual_seed(0);
  Generator G = make_generator(model_config(cfg));
  load_state_dict(*G, torchfile::load_state_dict((dir / "init/G.pth").string()), (dir / "init/G.pth").string());
  G->eval();
  return G;
}

}  // namespace

TEST_CASE("gan-sample reproduces the reference's G outputs for every fixture case", "[sampling][tool]") {
  auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  for (const auto& dir : cases) {
    std::cout << "case " << dir.filename().string() << "\n";
    TempDir tmp;
    auto io = h5::File::open_read((dir / "io.h5").string());
    auto z = io.read("z"), y = io.read("y");
    write_latents(tmp / "latents.h5", z, y);
    const std::string common = "--weights " + (dir / "init").string() + " --which G --latents " +
                               (tmp / "latents.h5").string() + " --batch-size " + std::to_string(z.size(0));

    // Eval mode: HDF5 output, the npz and a float32 stream from one run.
    auto r = gan_sample(tmp, common + " --output " + (tmp / "eval.h5").string() + " --sample-npz " +
                                 (tmp / "s.npz").string() + " --stream",
                        (tmp / "stream.bin").string());
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto want_eval = io.read("G_eval_out");
    {
      auto out = h5::File::open_read((tmp / "eval.h5").string());
      check_close(out.read("images"), want_eval, dir.filename().string() + " G_eval_out");
      CHECK(torch::equal(out.read("z"), z));
      CHECK(torch::equal(out.read("y"), y));
    }
    {
      std::ifstream in(tmp / "stream.bin", std::ios::binary);
      metrics::SampleStreamReader reader(in, "stream.bin");
      CHECK(reader.header().dtype == "float32");
      CHECK(reader.header().count == z.size(0));
      torch::Tensor images, labels;
      std::vector<torch::Tensor> all, all_labels;
      while (reader.next(images, labels)) all.push_back(images.clone()), all_labels.push_back(labels.clone());
      REQUIRE(!all.empty());
      check_close(torch::cat(all), want_eval, dir.filename().string() + " stream");
      CHECK(torch::equal(torch::cat(all_labels), y));
    }
    {
      auto arrays = npz::load((tmp / "s.npz").string());
      auto x = npz::get(arrays, "x", "s.npz");
      CHECK(x.scalar_type() == torch::kUInt8);
      CHECK(x.sizes() == want_eval.sizes());  // the reference's layout: N×3×H×W
      auto want_x = metrics::quantize_like_reference(want_eval);
      // Truncation to uint8 may flip a value sitting on an integer boundary by one.
      CHECK((x.to(torch::kInt32) - want_x.to(torch::kInt32)).abs().max().item<int>() <= 1);
      CHECK(torch::equal(npz::get(arrays, "y", "s.npz"), y));
    }

    // Batch statistics.
    r = gan_sample(tmp, common + " --batch-stats --output " + (tmp / "train.h5").string());
    INFO(r.err);
    REQUIRE(r.rc == 0);
    check_close(h5::File::open_read((tmp / "train.h5").string()).read("images"), io.read("G_train_out"),
                dir.filename().string() + " G_train_out", 5e-5);

    // One G .pth with its config given as JSON (no state_dict.pth beside it).
    fs::copy_file(dir / "init/G.pth", tmp / "G.pth");
    r = gan_sample(tmp, "--weights " + (tmp / "G.pth").string() + " --config-json " + (dir / "config.json").string() +
                            " --latents " + (tmp / "latents.h5").string() + " --output " + (tmp / "file.h5").string());
    INFO(r.err);
    REQUIRE(r.rc == 0);
    check_close(h5::File::open_read((tmp / "file.h5").string()).read("images"), want_eval,
                dir.filename().string() + " G.pth + config.json");
  }
}

TEST_CASE("gan-sample: drawn latents, truncation, seeds, sheets", "[sampling][tool]") {
  auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  const auto dir = cases.front();
  std::cout << "case " << dir.filename().string() << "\n";
  TempDir tmp;
  const std::string w = "--weights " + (dir / "init").string();
  auto r = gan_sample(tmp, w + " --num 10 --batch-size 4 --truncation 0.5 --seed 7 --output " +
                               (tmp / "a.h5").string() + " --sheet " + (tmp / "sheet.png").string() +
                               " --class-sheets " + (tmp / "classes").string() + " --interp " +
                               (tmp / "interp").string() + " --num-per-sheet 3 --num-midpoints 2");
  INFO(r.err);
  REQUIRE(r.rc == 0);
  auto a = h5::File::open_read((tmp / "a.h5").string());
  auto z = a.read("z"), y = a.read("y"), images = a.read("images");
  CHECK(z.sizes() == torch::IntArrayRef({10, z.size(1)}));
  CHECK(images.size(0) == 10);
  CHECK(z.abs().max().item<double>() <= 0.5);
  CHECK(z.abs().max().item<double>() > 0.3);
  CHECK(y.scalar_type() == torch::kInt64);
  CHECK(y.min().item<int64_t>() >= 0);
  // The images are what G makes of the recorded latents.
  {
    Generator G = fixture_generator(dir);
    auto again = generate_images(*G, z, y, 4);
    check_close(images, again, "drawn latents regenerate");
  }
  CHECK(fs::exists(tmp / "sheet.png"));
  CHECK(fs::exists(tmp / "classes/samples0.png"));
  for (const char* name : {"interpZY0.png", "interpZ0.png", "interpY0.png"}) {
    INFO(name);
    REQUIRE(fs::exists(tmp / "interp" / name));
    auto im = read_image_rgb(tmp / "interp" / name);
    const int64_t R = images.size(2);
    CHECK(im.size(0) == 3 * (R + 2) + 2);  // 3 rows
    CHECK(im.size(1) == 4 * (R + 2) + 2);  // 2 midpoints + 2 ends
  }

  // Same seed, same images; another seed, other images; a fixed class.
  r = gan_sample(tmp, w + " --num 10 --batch-size 4 --truncation 0.5 --seed 7 --output " + (tmp / "b.h5").string());
  REQUIRE(r.rc == 0);
  CHECK(torch::equal(h5::File::open_read((tmp / "b.h5").string()).read("images"), images));
  r = gan_sample(tmp, w + " --num 4 --seed 8 --class 3 --output " + (tmp / "c.h5").string());
  REQUIRE(r.rc == 0);
  auto c = h5::File::open_read((tmp / "c.h5").string());
  CHECK((c.read("y") == 3).all().item<bool>());
  CHECK(!torch::equal(c.read("z"), z.slice(0, 0, 4)));
}

TEST_CASE("gan-sample: bad inputs are one-line errors and leave no output", "[sampling][tool]") {
  auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  const auto dir = cases.front();
  std::cout << "case " << dir.filename().string() << "\n";
  TempDir tmp;
  const auto out = (tmp / "out.h5").string();
  auto io = h5::File::open_read((dir / "io.h5").string());
  auto z = io.read("z"), y = io.read("y");
  write_latents(tmp / "wrong_dim.h5", torch::zeros({4, z.size(1) + 1}), y);
  write_latents(tmp / "z_f64.h5", z.to(torch::kFloat64), y);
  write_latents(tmp / "y_i32.h5", z, y.to(torch::kInt32));
  write_latents(tmp / "y_range.h5", z, y + 1000);
  write_latents(tmp / "rows.h5", z, y.slice(0, 0, 2));
  {
    auto f = h5::File::create((tmp / "no_y.h5").string());
    f.write("z", z);
  }
  write_file_atomically(tmp / "garbage.pth", "not a torch file at all");
  fs::copy_file(dir / "init/G.pth", tmp / "G.pth");
  // Without a config G's architecture is read off its tensors (test_architecture_inference.cpp); a
  // file whose tensors are no G's still has no config to go by.
  fs::copy_file(dir / "init/D.pth", tmp / "D.pth");
  const std::string w = "--weights " + (dir / "init").string() + " --which G";

  struct Bad {
    std::string args, expect;
  };
  const std::vector<Bad> bad = {
      {"--weights " + (tmp / "nowhere").string(), "no such weights"},
      {"--weights " + (dir / "init").string() + " --suffix copy7", "G_copy7.pth"},
      {"--weights " + (tmp / "D.pth").string(), "no config"},
      {"--weights " + (tmp / "garbage.pth").string() + " --config-json " + (dir / "config.json").string(),
       "garbage.pth"},
      {w + " --flags \"--G_ch 16\"", "shape mismatch"},
      {w + " --which D", "G or G_ema"},
      {w + " --latents " + (tmp / "wrong_dim.h5").string(), "dim_z"},
      {w + " --latents " + (tmp / "z_f64.h5").string(), "float32"},
      {w + " --latents " + (tmp / "y_i32.h5").string(), "int64"},
      {w + " --latents " + (tmp / "y_range.h5").string(), "classes outside"},
      {w + " --latents " + (tmp / "rows.h5").string(), "rows"},
      {w + " --latents " + (tmp / "no_y.h5").string(), "'y'"},
      {w + " --latents " + (tmp / "missing.h5").string(), "missing.h5"},
      {w + " --class 999", "--class"},
      {w + " --truncation=-1", "truncation"},
  };
  for (const auto& b : bad) {
    auto r = gan_sample(tmp, b.args + " --output " + out);
    INFO(b.args << "\n -> rc " << r.rc << ": " << r.err);
    CHECK(r.rc != 0);
    CHECK(r.err.find(b.expect) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(!fs::exists(out));
  }
  // Bad flags exit 2.
  auto r = gan_sample(tmp, w);
  CHECK(r.rc == 2);
  r = gan_sample(tmp, w + " --stream --truncation-curve 0.5_0.5_1");
  CHECK(r.rc == 2);
}

TEST_CASE("truncated normal: within bounds, truncnorm's moments, scipy's ppf", "[sampling]") {
  torch::manual_seed(11);
  for (double bound : {0.25, 1.0, 2.0}) {
    auto z = truncated_normal({200000}, bound, 1.0, torch::kFloat32);
    CHECK(z.scalar_type() == torch::kFloat32);
    CHECK(z.abs().max().item<double>() <= bound);
    // Var of truncnorm(-a, a) = 1 - 2 a φ(a) / (2 Φ(a) - 1).
    const double phi = std::exp(-bound * bound / 2) / std::sqrt(2 * M_PI);
    const double mass = std::erf(bound / std::sqrt(2.0));
    const double var = 1 - 2 * bound * phi / mass;
    const double got = z.to(torch::kDouble).var().item<double>();
    std::cout << "  bound " << bound << ": variance " << got << " (truncnorm " << var << ")\n";
    CHECK(std::abs(got - var) < 0.01 * var + 1e-4);
    CHECK(std::abs(z.to(torch::kDouble).mean().item<double>()) < 0.01);
  }
  // z_var scales the normal before truncation.
  auto wide = truncated_normal({50000}, 1.0, 2.0, torch::kFloat32);
  CHECK(wide.abs().max().item<double>() <= 1.0);

  if (!python_has("scipy")) {
    BIGGAN_SKIP("python3 with scipy is missing: the truncnorm oracle check");
    return;
  }
  TempDir tmp;
  torch::manual_seed(123);
  auto ours = truncated_normal({1000}, 0.7, 1.5, torch::TensorOptions().dtype(torch::kFloat64));
  npz::save_npy((tmp / "ours.npy").string(), ours);
  int rc = 0;
  auto out = run_python(tmp,
                        "import numpy as np, sys\n"
                        "from scipy.stats import truncnorm\n"
                        "torch.manual_seed(123)\n"
                        "u = torch.rand(1000, dtype=torch.float64).numpy()\n"
                        "a = 0.7 / 1.5\n"
                        "want = truncnorm.ppf(u, -a, a, scale=1.5)\n"
                        "print(np.abs(np.load(sys.argv[1]) - want).max())\n",
                        (tmp / "ours.npy").string(), &rc);
  INFO(out);
  REQUIRE(rc == 0);
  const double diff = std::stod(out);
  std::cout << "  truncnorm.ppf oracle max abs diff " << diff << "\n";
  CHECK(diff < 1e-9);
}

TEST_CASE("sample sheets and standing statistics (library)", "[sampling]") {
  auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  for (const auto& dir : cases) {
    std::cout << "case " << dir.filename().string() << "\n";
    TempDir tmp;
    Generator G = fixture_generator(dir);
    const int64_t R = G->resolution();
    if (G->n_classes() > 100) {
      // The sheets' layout and draws do not depend on the class count; at 1000 classes and 128²
      // the class sheets alone are 100 PNGs of 100 samples (over an hour here): the smaller cases
      // test them.
      std::cout << "  (" << G->n_classes() << " classes: sheets tested on the smaller cases)\n";
      continue;
    }
    // The config G was built from (models keep only their model settings).
    Config cfg = Config::from_json(Json::parse_file((dir / "config.json").string()), "config.json");
    cfg.dataset = "C10";
    cfg.batch_size = 4;
    torch::manual_seed(1);
    auto fixed_z = torch::randn({4, G->dim_z()});
    auto fixed_y = torch::arange(4) % G->n_classes();
    auto files = save_sample_sheets(*G, fixed_z, fixed_y, tmp.path, 25, cfg);
    const int64_t cps = classes_per_sheet("C10", G->n_classes());
    CHECK(files.size() == static_cast<size_t>(1 + G->n_classes() / cps + 3));
    REQUIRE(fs::exists(tmp / "fixed_samples25.png"));
    auto fixed = read_image_rgb(tmp / "fixed_samples25.png");
    CHECK(fixed.size(0) == 2 * (R + 2) + 2);
    auto sheet = read_image_rgb(tmp.path / "25" / "samples0.png");
    CHECK(sheet.size(0) == cps * (R + 2) + 2);
    CHECK(sheet.size(1) == 10 * (R + 2) + 2);
    auto interp = read_image_rgb(tmp.path / "25" / "interpZY0.png");
    CHECK(interp.size(0) == 16 * (R + 2) + 2);
    CHECK(interp.size(1) == 10 * (R + 2) + 2);
    CHECK(fs::exists(tmp.path / "25" / "interpZ0.png"));
    CHECK(fs::exists(tmp.path / "25" / "interpY0.png"));

    // The z interpolation rows move from one image to another: the ends differ, fixed-z rows of
    // interpY at fixed class would not. Check the interpolation itself on G's inputs: a fix_z sheet
    // with fix_y too gives identical columns.
    InterpSheetOptions o;
    o.num_per_sheet = 2;
    o.num_midpoints = 1;
    o.fix_z = o.fix_y = true;
    auto p = save_interp_sheet(*G, tmp.path, o);
    CHECK(p.filename() == "interp0.png");
    auto same = read_image_rgb(p);
    // Identical inputs at two batch positions: equal up to float rounding (convolution and
    // attention kernels block the batch), i.e. at most one step of the 8-bit quantisation.
    const auto col_diff = (same.slice(1, 2, 2 + R).to(torch::kInt32) - same.slice(1, R + 4, 2 * R + 4).to(torch::kInt32));
    CHECK(col_diff.abs().max().item<int>() <= 1);
  }

  // Standing statistics on a myBN generator: counters and statistics as the reference's myBN.
  const auto dir = cases.front();
  const auto cfg_path = (dir / "config.json").string();
  Config cfg = Config::from_json(Json::parse_file(cfg_path), cfg_path);
  cfg.mybn = true;
  torch::manual_seed(0);
  Generator G = make_generator(model_config(cfg));
  LatentSampler sampler(4, G->dim_z(), G->n_classes(), {});
  CHECK(accumulate_standing_stats(*G, sampler.z_buffer(), sampler.y_buffer(), 3) > 0);
  CHECK(!G->is_training());
  for (auto& bn : mybn_layers(*G)) {
    CHECK(bn->accumulate_standing);
    CHECK(bn->accumulation_counter.item<double>() == 3.0);
  }
  auto z = torch::randn({4, G->dim_z()});
  auto y = torch::zeros({4}, torch::kInt64);
  auto out = generate_images(*G, z, y, 4);
  CHECK(torch::isfinite(out).all().item<bool>());
}

TEST_CASE("gan-sample --stream | fid, and the truncation curve (random-weight scorer)", "[sampling][tool]") {
  auto cases = fixture_cases("biggan");
  REQUIRE(!cases.empty());
  const auto dir = cases.front();
  std::cout << "case " << dir.filename().string() << "\n";
  TempDir tmp;
  const std::string w = "--weights " + (dir / "init").string();
  // The curve: one line per value, IS from 10 samples each (numbers meaningless: random scorer).
  auto r = gan_sample(tmp, w + " --num 10 --truncation-curve 0.5_0.5_1.0 --random-weights --json",
                      (tmp / "curve.jsonl").string());
  INFO(r.err);
  REQUIRE(r.rc == 0);
  std::ifstream in(tmp / "curve.jsonl");
  std::vector<Json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["truncation"].as_double() == Approx(0.5));
  CHECK(lines[1]["truncation"].as_double() == Approx(1.0));
  for (auto& j : lines) {
    CHECK(j["images"].as_int() == 10);
    CHECK(j["IS_mean"].as_double() >= 1.0);
    CHECK(j["random_weights"].as_bool());
  }

  const auto fid = tool_path("fid");
  if (!fs::exists(fid)) {
    BIGGAN_SKIP("the fid tool is not built: the pipe check");
    return;
  }
  const std::string cmd = tool_path("gan-sample").string() + " --threads 1 " + w +
                          " --num 12 --batch-size 5 --stream --stream-dtype uint8 2>/dev/null | " + fid.string() +
                          " - --random-weights --json --threads 1 >" + (tmp / "fid.json").string() + " 2>" +
                          (tmp / "fid.err").string();
  const int st = std::system(cmd.c_str());
  INFO(read_file(tmp / "fid.err"));
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  auto j = Json::parse(read_file(tmp / "fid.json"));
  CHECK(j["images"].as_int() == 12);
  CHECK(j["IS_mean"].as_double() >= 1.0);
}
