#include "libbiggan/training/precision.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "libbiggan/util/error.h"

namespace biggan {

Amp parse_amp(const std::string& text) {
  if (text.empty() || text == "off") return Amp::kOff;
  if (text == "bf16") return Amp::kBF16;
  if (text == "fp16") return Amp::kFP16;
  throw Error("--amp: '" + text + "' is not one of off, bf16, fp16, auto");
}

const char* amp_name(Amp amp) {
  switch (amp) {
    case Amp::kBF16: return "bf16";
    case Amp::kFP16: return "fp16";
    default: return "off";
  }
}

torch::ScalarType amp_dtype(Amp amp) {
  switch (amp) {
    case Amp::kBF16: return torch::kBFloat16;
    case Amp::kFP16: return torch::kHalf;
    default: return torch::kFloat;
  }
}

namespace {
bool cpu_has_native_bf16() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    for (std::string w; words >> w;)
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    return false;  // the first CPU's flags say it for all
  }
  return false;
}
}  // namespace

Amp auto_amp(torch::Device device) {
  const bool native = device.is_cuda() || cpu_has_native_bf16();
  return native && precision_runs_on(device, torch::kBFloat16) ? Amp::kBF16 : Amp::kOff;
}

Amp resolve_amp(const std::string& text, torch::Device device, const std::string& tool, const std::string& with_bf16) {
  if (text != "auto") return parse_amp(text);
  const Amp amp = auto_amp(device);
  std::cerr << tool << ": --amp auto: " << amp_name(amp) << " on " << device.str()
            << (amp == Amp::kOff ? " (no native bf16 here)" : with_bf16) << "\n";
  return amp;
}

bool precision_runs_on(torch::Device device, torch::ScalarType dtype) {
  try {
    torch::AutoGradMode grad_on(true);
    const auto opts = torch::TensorOptions().dtype(dtype).device(device);
    auto x = torch::ones({2, 2, 4, 4}, opts).requires_grad_();
    auto w = torch::ones({2, 2, 3, 3}, opts);
    auto y = torch::conv2d(x, w, {}, 1, 1);
    y = torch::batch_norm(y, {}, {}, torch::zeros({2}, opts), torch::ones({2}, opts), true, 0.1, 1e-5, true);
    y = torch::relu(torch::linear(y.flatten(1), torch::ones({3, 32}, opts)));
    y.sum().backward();
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

void check_precision(const Config& c, Amp amp, torch::Device device) {
  const char* reference_flag = c.G_fp16 ? "--G_fp16" : c.D_fp16 ? "--D_fp16" : c.G_mixed_precision ? "--G_mixed_precision"
                               : c.D_mixed_precision ? "--D_mixed_precision" : nullptr;
  if (reference_flag) {
    if (!precision_runs_on(device, torch::kHalf))
      throw Error(std::string(reference_flag) + ": this LibTorch has no half-precision kernels on " + device.str() +
                  " (a float16 convolution fails there); for reduced precision on the CPU use --amp bf16");
    // The reference's half-precision networks and Adam16 are not built on CUDA yet: refuse rather than ignore.
    throw Error(std::string(reference_flag) + ": the reference's half-precision networks are not implemented here "
                "yet; use --amp fp16 (autocast, float32 master weights, loss scaling) or --amp bf16");
  }
  if (amp != Amp::kOff && !precision_runs_on(device, amp_dtype(amp)))
    throw Error(std::string("--amp ") + amp_name(amp) + ": this LibTorch has no " + amp_name(amp) + " kernels on " +
                device.str() + (amp == Amp::kFP16 ? " (fp16 needs CUDA; on the CPU use --amp bf16)" : ""));
}

std::unique_ptr<MixedPrecision> MixedPrecision::for_run(Amp amp, const std::filesystem::path& logs_dir, bool resume) {
  auto p = std::make_unique<MixedPrecision>();
  p->amp = amp;
  if (amp != Amp::kFP16) return p;
  if (!logs_dir.empty()) p->log_ = std::make_shared<JsonlLogger>(logs_dir / "amp.jsonl", !resume, true);
  auto log = p->log_;
  auto on_skip = [log](const SkippedStep& s) {
    if (!log) return;
    log->log(Json::object()
                 .set("itr", s.itr)
                 .set("event", "skipped_step")
                 .set("network", s.network)
                 .set("reason", "inf or nan gradients")
                 .set("scale_before", s.scale_before)
                 .set("scale_after", s.scale_after));
  };
  p->D_scaler = std::make_unique<GradScaler>("D", GradScalerOptions{}, on_skip);
  p->G_scaler = std::make_unique<GradScaler>("G", GradScalerOptions{}, on_skip);
  return p;
}

}  // namespace biggan
