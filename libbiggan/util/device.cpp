#include "libbiggan/util/device.h"

#include "libbiggan/util/error.h"

namespace biggan {

torch::Device pick_device(const std::string& name) {
  if (name.empty()) return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available()) throw Error("--device " + name + ": this build or machine has no CUDA");
    try {
      torch::Device d(name);
      if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
        throw Error("--device " + name + ": this machine has " + std::to_string(torch::cuda::device_count()) +
                    " CUDA device(s)");
      return d;
    } catch (const c10::Error&) {
      throw Error("--device " + name + ": not a device name (cpu, cuda or cuda:N)");
    }
  }
  throw Error("--device " + name + ": not a device name (cpu, cuda or cuda:N)");
}

}  // namespace biggan
