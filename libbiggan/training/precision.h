// Reduced precision in training: our --amp (autocast to bf16 or fp16 around G's and D's forward
// passes, float32 master weights, optimiser state and saves; fp16 adds loss scaling per optimiser,
// its skipped steps logged to logs/<name>/amp.jsonl), and the check that refuses what a device
// cannot run: the reference's --G_fp16 / --D_fp16 / --*_mixed_precision where LibTorch has no
// half-precision kernels (LibTorch 1.13's CPU has no fp16 convolution), --amp fp16 likewise.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "libbiggan/training/config.h"
#include "libbiggan/training/experiment.h"
#include "libbiggan/training/grad_scaler.h"

namespace biggan {

enum class Amp { kOff, kBF16, kFP16 };

// "off" (or ""), "bf16", "fp16"; anything else is an Error naming --amp ("auto": resolve_amp).
Amp parse_amp(const std::string& text);
const char* amp_name(Amp amp);
// kFloat for off, kBFloat16, kHalf.
torch::ScalarType amp_dtype(Amp amp);

// --amp auto: bf16 where the device computes it natively (a CPU with AVX-512 BF16 or AMX BF16 in
// /proc/cpuinfo, or a CUDA device whose bf16 kernels run), otherwise off (float32): bf16 emulated
// in float32 instructions is slower than float32 itself.
Amp auto_amp(torch::Device device);

// --amp as the tools take it: off (or ""), bf16, fp16, or auto, which is auto_amp(device) and is said
// once on stderr ("TOOL: --amp auto: bf16 on cpu", then `with_bf16` when bf16 was chosen). A bad
// value is an Error naming --amp.
Amp resolve_amp(const std::string& text, torch::Device device, const std::string& tool,
                const std::string& with_bf16 = "");

// Whether LibTorch runs a BigGAN layer in `dtype` on `device` (a probe: a 3x3 convolution, batch
// norm and a linear layer, forward and backward, on a few numbers). bf16 and fp16 differ per build.
bool precision_runs_on(torch::Device device, torch::ScalarType dtype);

// Throws a one-line Error naming the flag when the reference's fp16 flags or `amp` ask for what
// `device` cannot run. Called before anything is written.
void check_precision(const Config& config, Amp amp, torch::Device device);

// What the training step needs of a run's precision: the autocast type and, for fp16, a loss
// scaler per optimiser.
struct MixedPrecision {
  Amp amp = Amp::kOff;
  std::unique_ptr<GradScaler> D_scaler, G_scaler;  // fp16 only

  bool on() const { return amp != Amp::kOff; }
  torch::ScalarType dtype() const { return amp_dtype(amp); }

  // For a run writing its logs to `logs_dir`: with fp16 the scalers, whose skipped steps go to
  // logs_dir/amp.jsonl (started afresh unless `resume`; none when logs_dir is empty).
  static std::unique_ptr<MixedPrecision> for_run(Amp amp, const std::filesystem::path& logs_dir, bool resume);

 private:
  std::shared_ptr<JsonlLogger> log_;
};

}  // namespace biggan
