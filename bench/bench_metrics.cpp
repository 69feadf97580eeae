// Benchmark of the scorer: Inception images/s (batch 50, 299×299) against the reference's
// WrapInception on torchvision in the same run, and FID-from-moments time (2048-d) against scipy's
// sqrtm and the reference's Newton–Schulz (../shared/bench/bench_fid.py measures those two).
// Usage: bench_metrics [--threads N] [--batches K] [--no-python]. Prints one JSON object per line.
#include <cxxopts.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception.h"
#include "libbiggan/util/cli.h"
#include "libbiggan/util/json.h"

using namespace biggan;
using namespace biggan::metrics;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

// The reference's WrapInception around torchvision's inception_v3 (random init: speed only).
const char* kPythonInception = R"PY(
import sys, time, json, torch
sys.path.insert(0, sys.argv[1]); torch.set_num_threads(int(sys.argv[2])); batches = int(sys.argv[3])
from torchvision.models.inception import inception_v3
import inception_utils as iu
torch.manual_seed(0)
net = iu.WrapInception(inception_v3(weights=None, aux_logits=True, transform_input=False, init_weights=False).eval())
x = torch.rand(50, 3, 299, 299) * 2 - 1
with torch.no_grad():
  net(x); t = time.perf_counter()
  for _ in range(batches): net(x)
  dt = time.perf_counter() - t
print(json.dumps(dict(bench='reference WrapInception (torchvision, python)', batch=50, images_per_s=50 * batches / dt)))
)PY";

}  // namespace

int main(int argc, char** argv) {
  return run_tool("bench_metrics", [&] {
    cxxopts::Options opts("bench_metrics", "Inception throughput and FID-from-moments time, against the reference");
    opts.add_options()
        ("threads", "threads for both sides", cxxopts::value<int>()->default_value("2"))
        ("batches", "timed batches of 50 per side (after one warm-up)", cxxopts::value<int>()->default_value("2"))
        ("no-python", "skip the reference (Python) measurements")
        ("ref", "BigGAN-PyTorch checkout", cxxopts::value<std::string>()->default_value("/work/ref/biggan"))
        ("bench-fid", "the reference FID benchmark script",
         cxxopts::value<std::string>()->default_value("/work/shared/bench/bench_fid.py"))
        ("python", "Python with torch/torchvision/scipy", cxxopts::value<std::string>()->default_value("/usr/bin/python3"))
        ("h,help", "show this help");
    auto args = opts.parse(argc, argv);
    if (args.count("help")) {
      std::cout << opts.help() << "\n";
      return 0;
    }
    const int threads = setup_threads(args["threads"].as<int>());
    const int batches = args["batches"].as<int>();
    const bool python = args.count("no-python") == 0;
    const auto py = args["python"].as<std::string>(), ref = args["ref"].as<std::string>();

    // 1. Inception throughput, batch 50 at 299×299 (no resize), torchvision flavour.
    torch::manual_seed(0);
    auto x = torch::rand({50, 3, 299, 299}) * 2 - 1;
    for (bool channels_last : {false, true}) {
      auto net = make_inception(InceptionFlavor::kTorchvision);
      net->prepare_for_inference();
      c10::InferenceMode guard;
      auto run = [&] {
        auto in = net->transform_input(x);
        if (channels_last) in = in.contiguous(at::MemoryFormat::ChannelsLast);
        return net->forward_transformed(in).pool;
      };
      run();
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < batches; ++i) run();
      double dt = seconds_since(t0);
      auto j = Json::object();
      j.set("bench", std::string("C++ Inception (torchvision") + (channels_last ? ", channels-last)" : ")"));
      j.set("batch", 50), j.set("threads", threads), j.set("images_per_s", 50.0 * batches / dt);
      std::cout << j.dump() << std::endl;
    }
    if (python) {
      auto script = std::filesystem::temp_directory_path() / "bench_metrics_inception.py";
      std::ofstream(script) << kPythonInception;
      std::cout << run_capture(py + " '" + script.string() + "' '" + ref + "' " + std::to_string(threads) + " " +
                               std::to_string(batches))
                << std::flush;
      std::filesystem::remove(script);
    }

    // 2. FID from 2048-d moments of ReLU'd correlated features (as bench_fid.py builds them).
    {
      const int64_t d = 2048, n = 5000;
      auto gen = at::detail::createCPUGenerator(0);
      auto moments = [&](double shift) {
        auto A = torch::randn({d, d}, gen, torch::kFloat64) / std::sqrt(double(d));
        auto f = torch::relu(torch::randn({n, d}, gen, torch::kFloat64).matmul(A) + shift);
        return moments_of(f);
      };
      auto m1 = moments(0.1), m2 = moments(0.2);
      auto t0 = std::chrono::steady_clock::now();
      auto r = frechet_distance(m1.mu, m1.sigma, m2.mu, m2.sigma);
      double dt = seconds_since(t0);
      auto j = Json::object();
      j.set("bench", "C++ FID from moments (float64, Cholesky + symmetric eigenvalues)");
      j.set("dim", d), j.set("threads", threads), j.set("seconds", dt), j.set("fid", r.fid);
      std::cout << j.dump() << std::endl;
    }
    if (python) std::cout << run_capture(py + " '" + args["bench-fid"].as<std::string>() + "' '" + ref + "' " + std::to_string(threads)) << std::flush;
    return 0;
  });
}
