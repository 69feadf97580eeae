// Reduced precision: --amp bf16 / fp16 (autocast around G and D, float32 master weights and saves,
// loss scaling for fp16), spectral norm and BN statistics kept in float32 under autocast, and the
// reference's fp16 flags refused (one line, nothing written) where LibTorch has no fp16 kernels.
#include <ATen/autocast_mode.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "libbiggan/models/autocast.h"
#include "libbiggan/models/layers.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/training/grad_scaler.h"
#include "libbiggan/training/precision.h"
#include "libbiggan/training/train_step.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"
#include "tests/training/tiny_run.h"

using namespace biggan;
using biggan::test::TempDir;

namespace {

Config tiny_config() {
  Config c;
  c.resolution = 32;
  c.n_classes = 4;
  c.G_ch = 8;
  c.D_ch = 8;
  c.dim_z = 16;
  c.G_shared = true;
  c.shared_dim = 8;
  c.hier = true;
  c.G_attn = "0";
  c.D_attn = "0";
  c.batch_size = 8;
  c.num_D_steps = 1;
  return c;
}

// One training step of a freshly built (seeded) GAN under `precision` (null: float32); every run
// draws the same weights, noise and batch. Returns the losses; the GAN keeps the step's state.
StepLosses one_step(Gan& gan, MixedPrecision* precision) {
  torch::manual_seed(0);
  gan = Gan::build(tiny_config());
  gan.G->train();
  gan.D->train();
  torch::manual_seed(1);
  TrainStep step(gan, std::make_shared<RandomNoise>(4, 1.0), {}, precision);
  auto x = torch::rand({8, 3, 32, 32}) * 2 - 1;
  auto y = torch::arange(8, torch::kInt64).remainder(4);
  return step.run(x, y, 1);
}

// The gradient of the last step of every parameter (beta1 = 0: Adam's exp_avg is the gradient).
std::vector<torch::Tensor> last_gradients(const Adam& optim) {
  std::vector<torch::Tensor> out;
  auto st = optim.state_dict().toGenericDict().at("state").toGenericDict();
  for (size_t i = 0; i < optim.params().size(); ++i)
    out.push_back(st.at(static_cast<int64_t>(i)).toGenericDict().at("exp_avg").toTensor());
  return out;
}

struct GradientError {
  double global = 0;  // |g - ref| / |ref| over all parameters together (Frobenius norms)
  double worst = 0;   // the largest of the same per parameter, among those that carry the gradient
};

// Parameters whose gradient is below 1% of the largest one's (biases ahead of a batch norm, whose
// exact gradient is zero and whose float32 value is rounding noise) are left out of `worst`: their
// relative error compares noise with noise. They still count in `global`.
GradientError gradient_error(const Adam& ours, const Adam& ref) {
  auto a = last_gradients(ours), b = last_gradients(ref);
  REQUIRE(a.size() == b.size());
  double largest = 0, diff2 = 0, ref2 = 0;
  for (const auto& g : b) largest = std::max(largest, g.norm().item<double>());
  GradientError e;
  for (size_t i = 0; i < a.size(); ++i) {
    const double norm = b[i].norm().item<double>(), diff = (a[i] - b[i]).norm().item<double>();
    diff2 += diff * diff;
    ref2 += norm * norm;
    if (norm >= 0.01 * largest) e.worst = std::max(e.worst, diff / norm);
  }
  e.global = std::sqrt(diff2 / ref2);
  return e;
}

}  // namespace

TEST_CASE("--amp parses off, bf16 and fp16 and names itself in an error", "[precision]") {
  CHECK(parse_amp("") == Amp::kOff);
  CHECK(parse_amp("off") == Amp::kOff);
  CHECK(parse_amp("bf16") == Amp::kBF16);
  CHECK(parse_amp("fp16") == Amp::kFP16);
  CHECK_THROWS_WITH(parse_amp("fp8"), Catch::Contains("--amp") && Catch::Contains("'fp8'"));
  CHECK_THROWS_WITH(resolve_amp("fp8", torch::kCPU, "gan-sample"), Catch::Contains("'fp8'") && Catch::Contains("auto"));
  CHECK(resolve_amp("bf16", torch::kCPU, "gan-sample") == Amp::kBF16);
  CHECK(amp_dtype(Amp::kBF16) == torch::kBFloat16);
  CHECK(amp_dtype(Amp::kOff) == torch::kFloat);
}

TEST_CASE("autocast scopes nest and restore the thread's state", "[precision]") {
  REQUIRE_FALSE(at::autocast::is_cpu_enabled());
  auto a = torch::randn({4, 4}), b = torch::randn({4, 4});
  {
    AutocastScope outer(torch::kCPU, torch::kBFloat16);
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
    {
      Fp32Scope fp32;
      CHECK(torch::mm(a, b).scalar_type() == torch::kFloat);
    }
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
    AutocastScope off(torch::kCPU, torch::kFloat);  // float32: no change
    CHECK(torch::mm(a, b).scalar_type() == torch::kBFloat16);
  }
  CHECK_FALSE(at::autocast::is_cpu_enabled());
  CHECK(torch::mm(a, b).scalar_type() == torch::kFloat);
}

TEST_CASE("spectral norm's power iteration stays float32 under autocast", "[precision]") {
  torch::manual_seed(3);
  SNConv2d conv(SNConv2dOptions(8, 16, 3).padding(1).sn(SNOptions().num_svs(2)));
  conv->train();
  const auto u0 = conv->u_buffers()[0].clone(), u1 = conv->u_buffers()[1].clone();
  auto plain = conv->effective_weight().detach().clone();
  const auto u_plain = conv->u_buffers()[0].clone(), sv_plain = conv->sv_buffers()[1].clone();
  {
    torch::NoGradGuard ng;
    conv->u_buffers()[0].copy_(u0);
    conv->u_buffers()[1].copy_(u1);
  }
  torch::Tensor amp;
  {
    AutocastScope autocast(torch::kCPU, torch::kBFloat16);
    amp = conv->effective_weight().detach().clone();
  }
  // Bit for bit: the same float32 operations, whatever autocast would have made of them.
  CHECK(amp.scalar_type() == torch::kFloat);
  CHECK(torch::equal(amp, plain));
  CHECK(torch::equal(conv->u_buffers()[0], u_plain));
  CHECK(torch::equal(conv->sv_buffers()[1], sv_plain));
}

TEST_CASE("a bf16 autocast step agrees with the float32 step", "[precision]") {
  if (!precision_runs_on(torch::kCPU, torch::kBFloat16)) {
    BIGGAN_SKIP("this LibTorch has no bf16 CPU kernels");
    return;
  }
  Gan ref, amp;
  const auto want = one_step(ref, nullptr);
  MixedPrecision bf16;
  bf16.amp = Amp::kBF16;
  const auto got = one_step(amp, &bf16);
  // bf16 keeps 8 significant bits (unit roundoff 2^-8 = 0.39%); each convolution rounds its inputs
  // and weights once and accumulates in float32, so a layer adds ~0.5% relative error, and the
  // tiny G and D chain ~10 of them forward and again backward (G's gradient crosses D's backward
  // and then G's: ~40 roundings). Measured here: losses within 1%; D's gradient within 0.7% over
  // the network (1.0% for its worst parameter), G's within 5.3% (12.5%). The bounds leave about
  // 2x headroom; a real fault (a layer left in the wrong type, a lost loss scale, bf16 BN
  // statistics or power iteration) is off by far more (tens of percent to orders of magnitude).
  CHECK(std::abs(got.D_loss_real - want.D_loss_real) <= 0.02 * std::abs(want.D_loss_real) + 1e-3);
  CHECK(std::abs(got.D_loss_fake - want.D_loss_fake) <= 0.02 * std::abs(want.D_loss_fake) + 1e-3);
  CHECK(std::abs(got.G_loss - want.G_loss) <= 0.02 * std::abs(want.G_loss) + 1e-3);
  const auto d_err = gradient_error(*amp.D_optim, *ref.D_optim);
  const auto g_err = gradient_error(*amp.G_optim, *ref.G_optim);
  std::cout << "  bf16 vs float32 step: relative gradient error D " << d_err.global << " (worst parameter "
            << d_err.worst << "), G " << g_err.global << " (worst " << g_err.worst << ")\n";
  CHECK(d_err.global < 0.02);
  CHECK(g_err.global < 0.1);
  CHECK(d_err.worst < 0.03);
  CHECK(g_err.worst < 0.25);
  // Master weights, optimiser state and BN statistics stay float32.
  for (const auto& p : amp.G->parameters()) CHECK(p.scalar_type() == torch::kFloat);
  for (const auto& kv : amp.G->named_buffers()) {
    if (kv.value().is_floating_point()) CHECK(kv.value().scalar_type() == torch::kFloat);
    const auto* ref_buffer = ref.G->named_buffers().find(kv.key());
    REQUIRE(ref_buffer);
    // BN statistics: float32 accumulation of bf16 activations.
    if (kv.key().find("stored_") != std::string::npos)
      CHECK((kv.value() - *ref_buffer).abs().max().item<double>() <= 0.02 * ref_buffer->abs().max().item<double>() + 1e-3);
  }
  for (const auto& g : last_gradients(*amp.D_optim)) CHECK(g.scalar_type() == torch::kFloat);
}

// Hidden (run it on a CUDA machine with test_training "[.cuda]"): a CPU-only run would only skip it.
TEST_CASE("an fp16 autocast step agrees with the float32 step on CUDA", "[.cuda]") {
  if (!torch::cuda::is_available()) {
    BIGGAN_SKIP("no CUDA device");
    return;
  }
  // Same tolerance argument as bf16, with 11 significant bits: an order of magnitude tighter.
  auto step_on_cuda = [](Gan& gan, MixedPrecision* p) {
    torch::manual_seed(0);
    gan = Gan::build(tiny_config());
    gan.to(torch::kCUDA);
    torch::manual_seed(1);
    TrainStep step(gan, std::make_shared<RandomNoise>(4, 1.0), {}, p);
    auto x = (torch::rand({8, 3, 32, 32}) * 2 - 1).cuda();
    return step.run(x, torch::arange(8, torch::kInt64).remainder(4).cuda(), 1);
  };
  TempDir tmp;
  Gan ref, amp;
  const auto want = step_on_cuda(ref, nullptr);
  auto fp16 = MixedPrecision::for_run(Amp::kFP16, tmp.path, false);
  const auto got = step_on_cuda(amp, fp16.get());
  CHECK(std::abs(got.G_loss - want.G_loss) <= 0.005 * std::abs(want.G_loss) + 1e-3);
  CHECK(gradient_error(*amp.D_optim, *ref.D_optim).worst < 0.02);
  CHECK(gradient_error(*amp.G_optim, *ref.G_optim).worst < 0.02);
}

TEST_CASE("the loss scaler skips a step whose gradients hold an inf, and logs it", "[precision]") {
  TempDir tmp;
  // The scaling path does not depend on the autocast type: fp16 needs CUDA, so it runs here under bf16.
  auto p = MixedPrecision::for_run(Amp::kFP16, tmp.path, false);
  p->amp = Amp::kBF16;
  torch::manual_seed(0);
  Gan gan = Gan::build(tiny_config());
  gan.G->train();
  gan.D->train();
  auto D_before = gan.D_parameters();
  for (auto& t : D_before) t = t.detach().clone();
  auto G_before = gan.G_parameters();
  for (auto& t : G_before) t = t.detach().clone();
  // An inf in one of D's gradients (the hook fires in D's steps only: in G's step D is frozen).
  gan.D_parameters()[0].register_hook([](torch::Tensor g) {
    auto bad = g.clone();
    bad.view(-1)[0] = std::numeric_limits<float>::infinity();
    return bad;
  });
  torch::manual_seed(1);
  TrainStep step(gan, std::make_shared<RandomNoise>(4, 1.0), {}, p.get());
  step.run(torch::rand({8, 3, 32, 32}) * 2 - 1, torch::arange(8, torch::kInt64).remainder(4), 7);

  // D's step was skipped: weights as before, no optimiser state; G's step was taken.
  const auto D_after = gan.D_parameters();
  for (size_t i = 0; i < D_after.size(); ++i) CHECK(torch::equal(D_after[i], D_before[i]));
  CHECK(gan.D_optim->state_dict().toGenericDict().at("state").toGenericDict().size() == 0);
  bool G_moved = false;
  const auto G_after = gan.G_parameters();
  for (size_t i = 0; i < G_after.size(); ++i) G_moved = G_moved || !torch::equal(G_after[i], G_before[i]);
  CHECK(G_moved);
  CHECK(p->D_scaler->current_scale() == 32768.0);
  CHECK(p->G_scaler->current_scale() == 65536.0);
  std::ifstream log(tmp / "amp.jsonl");
  std::string line;
  REQUIRE(std::getline(log, line));
  const Json j = Json::parse(line);
  CHECK(j["itr"].as_int() == 7);
  CHECK(j["network"].as_string() == "D");
  CHECK(j["scale_before"].as_double() == 65536.0);
  CHECK(j["scale_after"].as_double() == 32768.0);
  CHECK_FALSE(std::getline(log, line));
}

TEST_CASE("the loss scaler grows after clean steps and unscales gradients", "[precision]") {
  GradScalerOptions o;
  o.growth_interval = 2;
  o.init_scale = 8;
  int skips = 0;
  GradScaler s("G", o, [&](const SkippedStep&) { ++skips; });
  auto p = torch::ones({3}).requires_grad_();
  s.scale((p * 2).sum()).backward();
  CHECK(torch::equal(p.grad(), torch::full({3}, 16.0)));
  CHECK(s.unscale({p}));
  CHECK(torch::equal(p.grad(), torch::full({3}, 2.0)));
  s.update(true, 1);
  CHECK(s.current_scale() == 8);
  s.update(true, 2);
  CHECK(s.current_scale() == 16);
  p.mutable_grad().fill_(std::numeric_limits<float>::quiet_NaN());
  CHECK_FALSE(s.unscale({p}));
  s.update(false, 3);
  CHECK(s.current_scale() == 8);
  CHECK(skips == 1);
  CHECK_THROWS_WITH(GradScaler("D", GradScalerOptions{0.0}), Catch::Contains("scale"));
}

TEST_CASE("gan-train refuses fp16 where LibTorch has no fp16 kernels, before writing anything", "[precision]") {
  if (precision_runs_on(torch::kCPU, torch::kHalf)) {
    BIGGAN_SKIP("this LibTorch runs fp16 on the CPU: nothing to refuse");
    return;
  }
  TempDir tmp;
  const auto data = biggan::test::make_tiny_data(tmp.path);
  for (const auto& flags : {std::vector<std::string>{"--G_fp16"}, {"--D_fp16"}, {"--G_mixed_precision"},
                            {"--D_mixed_precision"}, {"--amp", "fp16"}}) {
    const auto root = tmp / ("run" + flags[0].substr(2));
    auto args = biggan::test::tiny_args(root, data, {"--total_itr", "2", "--device", "cpu"});
    args.insert(args.end(), flags.begin(), flags.end());
    const int code = biggan::test::run_gan_train(args, tmp / "log.txt");
    std::ifstream in(tmp / "log.txt");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(flags[0] << ": " << all);
    CHECK(code != 0);
    CHECK(all.find(flags[0]) != std::string::npos);
    CHECK(std::count(all.begin(), all.end(), '\n') == 1);
    CHECK_FALSE(std::filesystem::exists(root));
  }
}

TEST_CASE("an --amp bf16 run saves float32 weights that python torch.load reads; gan-sample --amp", "[precision]") {
  if (!precision_runs_on(torch::kCPU, torch::kBFloat16)) {
    BIGGAN_SKIP("this LibTorch has no bf16 CPU kernels");
    return;
  }
  TempDir tmp;
  const auto data = biggan::test::make_tiny_data(tmp.path);
  auto args = biggan::test::tiny_args(tmp.path, data, {"--total_itr", "3", "--amp", "bf16"});
  REQUIRE(biggan::test::run_gan_train(args, tmp / "log.txt") == 0);
  const auto weights = biggan::test::tiny_weights(tmp.path, data);
  REQUIRE(std::filesystem::exists(weights / "G.pth"));
  // gan-sample --amp bf16 from that save: the same draws, images within bf16's rounding of float32's.
  const std::string common = "--weights '" + weights.string() + "' --num 16 --seed 3 --threads 1 --device cpu";
  auto plain = biggan::test::run_tool_cmd("gan-sample", common + " --output '" + (tmp / "f32.h5").string() + "'", tmp);
  REQUIRE(plain.exit_code == 0);
  auto amp = biggan::test::run_tool_cmd("gan-sample", common + " --amp bf16 --output '" + (tmp / "bf16.h5").string() + "'", tmp);
  INFO(amp.err);
  REQUIRE(amp.exit_code == 0);
  const auto a = h5::File::open_read((tmp / "f32.h5").string()).read("images");
  const auto b = h5::File::open_read((tmp / "bf16.h5").string()).read("images");
  REQUIRE(a.sizes() == b.sizes());
  const double mean_diff = (a - b).abs().mean().item<double>();
  std::cout << "  gan-sample --amp bf16: mean |pixel difference| " << mean_diff << " (pixels in [-1, 1])\n";
  CHECK(mean_diff > 0);     // autocast did something
  CHECK(mean_diff < 0.05);  // ~5 roundings of 2^-8 through G: about 1%; 0.05 leaves room
  auto bad = biggan::test::run_tool_cmd("gan-sample", common + " --amp fp16 --output '" + (tmp / "x.h5").string() + "'", tmp);
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--amp fp16") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp / "x.h5"));
  // --amp auto: what auto_amp picks on this CPU, said on stderr; the images those of that choice.
  auto chosen = biggan::test::run_tool_cmd("gan-sample", common + " --amp auto --output '" + (tmp / "auto.h5").string() + "'", tmp);
  INFO(chosen.err);
  REQUIRE(chosen.exit_code == 0);
  const std::string picked = amp_name(auto_amp(torch::kCPU));
  CHECK(chosen.err.find("gan-sample: --amp auto: " + picked + " on cpu") != std::string::npos);
  const auto c = h5::File::open_read((tmp / "auto.h5").string()).read("images");
  CHECK(torch::equal(c, picked == std::string("bf16") ? b : a));

  if (!biggan::test::python_has("torch")) {
    BIGGAN_SKIP("python3 with torch is missing: the torch.load check");
    return;
  }
  int rc = 0;
  const auto out = biggan::test::run_python(
      tmp,
      "import sys, os\n"
      "def tensors(o):\n"
      "    if torch.is_tensor(o): yield o\n"
      "    elif isinstance(o, dict):\n"
      "        for v in o.values(): yield from tensors(v)\n"
      "    elif isinstance(o, (list, tuple)):\n"
      "        for v in o: yield from tensors(v)\n"
      "n = 0\n"
      "for name in ['G', 'D', 'G_ema', 'G_optim', 'D_optim', 'state_dict']:\n"
      "    sd = torch.load(os.path.join(sys.argv[1], name + '.pth'), map_location='cpu')\n"
      "    for t in tensors(sd):\n"
      "        assert t.dtype in (torch.float32, torch.int64, torch.uint8), (name, t.dtype)\n"
      "        n += t.dtype == torch.float32\n"
      "print(n)\n",
      weights.string(), &rc);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(std::stoi(out) > 50);
}

TEST_CASE("--amp auto: bf16 exactly where the CPU has native bf16 instructions", "[precision]") {
  std::ifstream in("/proc/cpuinfo");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool native = text.find(" avx512_bf16") != std::string::npos || text.find(" amx_bf16") != std::string::npos;
  const Amp expected = native && precision_runs_on(torch::kCPU, torch::kBFloat16) ? Amp::kBF16 : Amp::kOff;
  CHECK(auto_amp(torch::kCPU) == expected);
  std::cout << "--amp auto on this CPU: " << amp_name(auto_amp(torch::kCPU)) << "\n";
  // Through gan-train's flags; a later --amp wins.
  test::TempDir tmp;
  const auto data = test::make_tiny_data(tmp.path);
  const auto with_auto = parse_train_command(test::tiny_args(tmp.path / "a", data, {"--amp", "auto"}));
  CHECK(with_auto.options.amp == expected);
  CHECK(with_auto.config.channels_last == (expected == Amp::kBF16));  // with bf16, channels-last too
  CHECK(parse_train_command(test::tiny_args(tmp.path / "b", data, {"--amp", "auto", "--amp", "off"})).options.amp ==
        Amp::kOff);
}
