// Which device a tool computes on: "--device cpu|cuda", empty meaning CUDA when this build and
// machine have it (the reference always trains and samples on CUDA).
#pragma once
#include <torch/torch.h>

#include <string>

namespace biggan {

// "" -> cuda if available, else cpu; "cpu"; "cuda" or "cuda:N" (an Error when there is no CUDA).
torch::Device pick_device(const std::string& name);

}  // namespace biggan
