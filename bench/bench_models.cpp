// Benchmark of the models and the training step (issue 2): G forward (train and eval mode, no
// grad, as the D steps and sampling run it) and one full training step (TrainStep: num_D_steps D
// updates, the G update, EMA) at the reference's two CPU-sized configurations. bench_models.sh runs
// this and the reference (bench_models_ref.py) with the same flags and prints the ratio.
//
// The configurations are lists of the reference's own command-line flags, so that both sides
// build exactly the same models: `--print-flags NAME` prints them for the Python driver.
// c32s is c32 at G_ch = D_ch = 8 and batch 8: a step where per-op overhead, not arithmetic, dominates.
// With --amp bf16 (or fp16 on CUDA) the step and G's forward run under autocast, as gan-train --amp.
// Usage: bench_models [--config c32|c32s|i128|all] [--amp off|bf16] [--channels-last] [--threads 2] [--warmup 2] [--repeats 5]
//          [--profile PREFIX] [--layouts]
// Prints one JSON object per configuration (seconds per call: medians, minima and maxima; wall and
// process CPU time).
#include <cxxopts.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <mutex>
#include <map>

#include <ATen/record_function.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include "libbiggan/models/autocast.h"
#include "libbiggan/training/gan.h"
#include "libbiggan/training/noise.h"
#include "libbiggan/training/precision.h"
#include "libbiggan/training/train_step.h"
#include "libbiggan/util/blas_threads.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"

using namespace biggan;

namespace {

// c32: scripts/launch_cifar_ema.sh with G_ch = D_ch = 32 and batch 32.
// i128: scripts/launch_BigGAN_bs256x8.sh with G_ch = D_ch = 16, batch 8 and no accumulation
// (one step of the 8-accumulation run is 8 of these G/D passes; the per-pass cost is the same).
const std::map<std::string, std::vector<std::string>> kConfigs = {
    {"c32",
     {"--dataset", "C10", "--batch_size", "32", "--G_ch", "32", "--D_ch", "32",  //
      "--num_G_accumulations", "1", "--num_D_accumulations", "1", "--num_D_steps", "4",
      "--G_lr", "2e-4", "--D_lr", "2e-4", "--G_ortho", "0.0", "--G_attn", "0", "--D_attn", "0",
      "--G_init", "N02", "--D_init", "N02", "--ema", "--use_ema", "--ema_start", "1000", "--seed", "0"}},
    {"c32s",
     {"--dataset", "C10", "--batch_size", "8", "--G_ch", "8", "--D_ch", "8",  //
      "--num_G_accumulations", "1", "--num_D_accumulations", "1", "--num_D_steps", "4",
      "--G_lr", "2e-4", "--D_lr", "2e-4", "--G_ortho", "0.0", "--G_attn", "0", "--D_attn", "0",
      "--G_init", "N02", "--D_init", "N02", "--ema", "--use_ema", "--ema_start", "1000", "--seed", "0"}},
    // fm32: the embedded default's model and batch (pipelines/fashion_default.flags) on C10's shapes
    // (32x32, 10 classes, as FMNIST32).
    {"fm32",
     {"--dataset", "C10", "--batch_size", "64", "--G_ch", "16", "--D_ch", "16", "--dim_z", "64",  //
      "--num_G_accumulations", "1", "--num_D_accumulations", "1", "--num_D_steps", "2",
      "--G_lr", "2e-4", "--D_lr", "4e-4", "--G_attn", "0", "--D_attn", "0",
      "--G_init", "N02", "--D_init", "N02", "--ema", "--use_ema", "--ema_decay", "0.995", "--ema_start", "200",
      "--G_eval_mode", "--seed", "0"}},
    {"i128",
     {"--dataset", "I128_hdf5", "--batch_size", "8", "--G_ch", "16", "--D_ch", "16",  //
      "--num_G_accumulations", "1", "--num_D_accumulations", "1", "--num_D_steps", "1",
      "--G_lr", "1e-4", "--D_lr", "4e-4", "--D_B2", "0.999", "--G_B2", "0.999",
      "--G_attn", "64", "--D_attn", "64", "--G_nl", "inplace_relu", "--D_nl", "inplace_relu",
      "--SN_eps", "1e-6", "--BN_eps", "1e-5", "--adam_eps", "1e-6", "--G_ortho", "0.0", "--G_shared",
      "--G_init", "ortho", "--D_init", "ortho", "--hier", "--dim_z", "120", "--shared_dim", "128",
      "--G_eval_mode", "--ema", "--use_ema", "--ema_start", "20000", "--seed", "0"}},
};

struct Timing {
  double wall = 0, cpu = 0;            // medians, seconds per call
  double wall_min = 0, wall_max = 0;   // the range of the timed calls
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Median wall and process CPU seconds of `repeats` calls after `warmup` untimed ones.
Timing time_calls(int warmup, int repeats, const std::function<void()>& call) {
  for (int i = 0; i < warmup; ++i) call();
  std::vector<double> wall, cpu;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    call();
    cpu.push_back(static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return {median(wall), median(cpu), *std::min_element(wall.begin(), wall.end()),
          *std::max_element(wall.begin(), wall.end())};
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

// With --profile: one call under the autograd profiler, written as a Chrome trace (per-op times,
// to compare with the reference's trace from bench_models_ref.py --profile).
void profile_call(const std::string& prefix, const std::string& what, const std::function<void()>& call) {
  if (prefix.empty()) return;
  torch::autograd::profiler::RecordProfile guard(prefix + what + ".json");
  call();
}

// With --layouts: one call with every operator's time (inclusive) summed per operator and per memory
// layout of its 4-d tensor inputs (N: NCHW-contiguous, C: channels-last-contiguous, X: neither, .:
// not 4-d or tiny), printed to stderr, largest first: mixed layouts send elementwise and batch-norm
// kernels to slow generic paths, which a trace's per-operator times show but cannot explain.
char layout_letter(const at::Tensor& t) {
  if (t.dim() != 4 || t.numel() < 4096) return '.';
  if (t.is_contiguous()) return 'N';
  if (t.is_contiguous(at::MemoryFormat::ChannelsLast)) return 'C';
  return 'X';
}

struct LayoutContext : at::ObserverContext {
  std::string key;
  std::chrono::steady_clock::time_point start;
};

// RecordFunction callbacks are plain functions: the totals of the one call being probed.
std::map<std::string, std::pair<int64_t, double>> layout_totals;
std::mutex layout_mutex;

void layout_call(const std::string& what, const std::function<void()>& call) {
  layout_totals.clear();
  auto handle = at::addGlobalCallback(
      at::RecordFunctionCallback(
          [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
            auto ctx = std::make_unique<LayoutContext>();
            ctx->key = fn.name();
            ctx->key += ' ';
            for (const auto& v : fn.inputs())
              if (v.isTensor()) ctx->key += layout_letter(v.toTensor());
            ctx->start = std::chrono::steady_clock::now();
            return ctx;
          },
          [](const at::RecordFunction&, at::ObserverContext* base) {
            auto* ctx = static_cast<LayoutContext*>(base);
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx->start).count();
            std::lock_guard<std::mutex> lock(layout_mutex);
            auto& t = layout_totals[ctx->key];
            ++t.first;
            t.second += s;
          })
          .needsInputs(true)
          .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  call();
  at::removeCallback(handle);
  std::vector<std::pair<std::string, std::pair<int64_t, double>>> rows(layout_totals.begin(), layout_totals.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::cerr << "layouts of " << what << " (inclusive ms, calls):\n";
  for (size_t i = 0; i < rows.size() && i < 40; ++i)
    std::cerr << "  " << rows[i].first << "  " << rows[i].second.second * 1e3 << " ms  " << rows[i].second.first << "\n";
}

// Our own model options on top of a configuration's reference flags; the variant's label is the
// amp name followed by "+cl" / "+fold" for each one set.
struct Speedups {
  bool channels_last = false;
  bool fold_resample = false;
  std::string label(Amp amp) const {
    return std::string(amp_name(amp)) + (channels_last ? "+cl" : "") + (fold_resample ? "+fold" : "");
  }
};

Json bench_config(const std::string& name, Amp amp, const Speedups& speedups, int threads, int warmup, int repeats,
                  const std::string& profile, bool layouts) {
  Config c;
  c.apply_reference_flags(kConfigs.at(name), "bench config " + name);
  c.channels_last = speedups.channels_last;
  c.fold_resample = speedups.fold_resample;
  c.derive_from_dataset();
  c.validate_model("bench config " + name);

  // train.py's order: seed, G, D, G_ema; then prepare_z_y inside TrainStep.
  torch::manual_seed(static_cast<uint64_t>(c.seed));
  Gan gan = Gan::build(c);
  MixedPrecision precision;
  precision.amp = amp;
  TrainStep step(gan, std::make_shared<RandomNoise>(c.n_classes, c.z_var), {}, &precision);
  gan.G->train();
  gan.D->train();

  // A real batch as the loader gives it: batch_size * num_D_steps * num_D_accumulations images.
  const int64_t d_batch = c.batch_size * c.num_D_steps * c.num_D_accumulations;
  auto x = torch::randn({d_batch, 3, c.resolution, c.resolution}).clamp(-1, 1);
  auto y = torch::randint(0, c.n_classes, {d_batch}, torch::kInt64);
  int64_t itr = 0;
  const Timing train = time_calls(warmup, repeats, [&] { step.run(x, y, ++itr); });
  profile_call(profile, name + "_step", [&] { step.run(x, y, ++itr); });
  if (layouts) layout_call(name + " step", [&] { step.run(x, y, ++itr); });

  auto z = torch::randn({c.batch_size, gan.G->dim_z()});
  auto gy = torch::randint(0, c.n_classes, {c.batch_size}, torch::kInt64);
  torch::NoGradGuard no_grad;
  auto forward = [&] {
    AutocastScope autocast(torch::kCPU, amp_dtype(amp));
    gan.G->forward(z, gan.G->shared(gy));
  };
  gan.G->train();
  const Timing g_train = time_calls(warmup, repeats, forward);
  profile_call(profile, name + "_G_train", forward);
  gan.G->eval();
  const Timing g_eval = time_calls(warmup, repeats, forward);
  profile_call(profile, name + "_G_eval", forward);
  // A batch of a sampling run (gan-sample, the tests' samples): eval mode with the weights fixed for
  // the run, so spectral norm's W / sigma is computed once for the run, as SampleRun does
  // (FrozenSpectralNorm; the reference repeats the power iteration every batch: its G_forward_eval).
  Timing g_sampling;
  {
    FrozenSpectralNorm frozen(*gan.G);
    g_sampling = time_calls(warmup, repeats, forward);
    profile_call(profile, name + "_G_sampling", forward);
    if (layouts) layout_call(name + " G sampling", forward);
  }

  return Json::object()
      .set("impl", Json(std::string("ours")))
      .set("config", Json(name))
      .set("amp", Json(speedups.label(amp)))
      .set("threads", Json(static_cast<int64_t>(threads)))
      .set("blas_threads", Json(static_cast<int64_t>(blas_threads())))
      .set("batch", Json(c.batch_size))
      .set("num_D_steps", Json(c.num_D_steps))
      .set("repeats", Json(static_cast<int64_t>(repeats)))
      .set("train_step_s", Json(train.wall))
      .set("train_step_cpu_s", Json(train.cpu))
      .set("train_step_min_s", Json(train.wall_min))
      .set("train_step_max_s", Json(train.wall_max))
      .set("G_forward_train_s", Json(g_train.wall))
      .set("G_forward_train_cpu_s", Json(g_train.cpu))
      .set("G_forward_train_min_s", Json(g_train.wall_min))
      .set("G_forward_train_max_s", Json(g_train.wall_max))
      .set("G_forward_eval_s", Json(g_eval.wall))
      .set("G_forward_eval_cpu_s", Json(g_eval.cpu))
      .set("G_forward_eval_min_s", Json(g_eval.wall_min))
      .set("G_forward_eval_max_s", Json(g_eval.wall_max))
      .set("G_sampling_s", Json(g_sampling.wall))
      .set("G_sampling_cpu_s", Json(g_sampling.cpu))
      .set("G_sampling_min_s", Json(g_sampling.wall_min))
      .set("G_sampling_max_s", Json(g_sampling.wall_max))
      .set("G_params", Json(count_parameters(*gan.G)))
      .set("D_params", Json(count_parameters(*gan.D)));
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("bench_models", [&] {
    cxxopts::Options opts("bench_models", "Times G forward and the training step (c32, i128).");
    opts.add_options()("config", "c32, c32s, fm32, i128 or all", cxxopts::value<std::string>()->default_value("all"))(
        "amp", "off, bf16 (or fp16 on CUDA): autocast as gan-train --amp", cxxopts::value<std::string>()->default_value("off"))(
        "channels-last", "activations channels-last, as gan-train --channels_last")(
        "fold-resample", "resampling folded into the convolutions, as gan-train --fold_resample")(
        "threads", "intra-op threads", cxxopts::value<int>()->default_value("2"))(
        "warmup", "untimed calls first", cxxopts::value<int>()->default_value("2"))(
        "repeats", "timed calls (the median is reported)", cxxopts::value<int>()->default_value("5"))(
        "print-flags", "print NAME's reference flags (one line) and exit", cxxopts::value<std::string>())(
        "profile", "also write Chrome traces of one call each to PREFIX<config>_{step,G_train,G_eval}.json",
        cxxopts::value<std::string>()->default_value(""))(
        "layouts", "also print, for one training step and one sampling batch, time per operator and memory layout of its inputs (stderr)")(
        "h,help", "this help");
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::cout << opts.help() << "\nConfigurations: c32, c32s, fm32, i128 (reference flags: --print-flags NAME).\n";
      return kExitOk;
    }
    if (args.count("print-flags")) {
      const auto name = args["print-flags"].as<std::string>();
      if (!kConfigs.count(name)) throw Error("--print-flags: unknown configuration '" + name + "'");
      std::string line;
      for (const auto& f : kConfigs.at(name)) line += (line.empty() ? "" : " ") + f;
      std::cout << line << "\n";
      return kExitOk;
    }
    const auto which = args["config"].as<std::string>();
    if (which != "all" && !kConfigs.count(which))
      throw Error("--config: unknown configuration '" + which + "' (c32, c32s, fm32, i128 or all)");
    const Amp amp = parse_amp(args["amp"].as<std::string>());
    check_precision(Config{}, amp, torch::kCPU);
    const int repeats = args["repeats"].as<int>(), warmup = args["warmup"].as<int>();
    if (repeats < 1 || warmup < 0) throw Error("--repeats must be >= 1 and --warmup >= 0");
    const int threads = setup_threads(args["threads"].as<int>());
    Speedups speedups;
    speedups.channels_last = args["channels-last"].as<bool>();
    speedups.fold_resample = args["fold-resample"].as<bool>();
    for (const auto& [name, flags] : kConfigs) {
      if (which != "all" && which != name) continue;
      std::cout << bench_config(name, amp, speedups, threads, warmup, repeats, args["profile"].as<std::string>(),
                                 args["layouts"].as<bool>())
                         .dump()
                << std::endl;
    }
    return kExitOk;
  });
}
