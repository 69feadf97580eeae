// The reference's fixture run (fixtures/trajectory) reproduced to its saved weights at itr 25 and
// 125: gan-train is run as a child process with the BLAS kernel the fixture was made with.
//
// Why a child process with its own OPENBLAS_CORETYPE: the kernel decides the rounding of every
// matmul, and Adam turns rounding of near-zero gradients into steps of up to lr, so two runs agree
// bit for bit only on the same kernel. The fixture was made with OpenBLAS's natively detected
// kernel on an AVX-512 (Cooperlake) machine; a test suite may run under a forced kernel
// (OPENBLAS_CORETYPE=Haswell on some machines) that it must not change for the other tests, and a
// native kernel elsewhere may be another. So the child names the fixture's kernel explicitly: the
// comparison is then exact on any machine that can run that kernel, and cannot be run (a skip, a
// failure under CI) on one that cannot.
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/train_cli.h"
#include "libbiggan/util/atomic_file.h"
#include "tests/fixtures.h"

using namespace biggan;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFixtureKernel = "Cooperlake";

bool cpu_runs_fixture_kernel() {
  std::ifstream in("/proc/cpuinfo");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.find(" avx512_bf16") != std::string::npos && text.find(" avx512vl") != std::string::npos;
}

void compare_weights(const fs::path& ours, const fs::path& fixture, int64_t itr) {
  const std::string suffix = "_itr" + std::to_string(itr) + ".pth";
  for (const std::string net : {"G", "D", "G_ema"}) {
    auto want = torchfile::load_state_dict((fixture / (net + suffix)).string());
    auto got = torchfile::load_state_dict((ours / (net + ".pth")).string());
    REQUIRE(got.size() == want.size());
    double worst = 0;
    int64_t differing = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      INFO(net << " itr " << itr << " " << want[i].key());
      REQUIRE(got[i].key() == want[i].key());
      const auto& a = got[i].value();
      const auto& b = want[i].value();
      REQUIRE(a.sizes() == b.sizes());
      if (!torch::equal(a, b)) {
        ++differing;
        worst = std::max(worst, (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>());
      }
    }
    std::cout << "  itr " << itr << " " << net << ": " << differing << " of " << want.size()
              << " tensors differ, max abs diff " << worst << "\n";
    CHECK(differing == 0);
  }
  auto state = torchfile::load((ours / "state_dict.pth").string()).toGenericDict();
  CHECK(state.at("itr").toInt() == itr);
}

}  // namespace

TEST_CASE("gan-train reproduces the reference run's weights at itr 25 and 125 (fixture kernel)") {
  const auto dir = test::fixtures_root() / "trajectory";
  REQUIRE(fs::exists(dir / "weights" / "G_itr125.pth"));
  if (!cpu_runs_fixture_kernel()) {
    BIGGAN_SKIP("this CPU cannot run OpenBLAS's " << kFixtureKernel
                                                  << " kernel, which the trajectory fixture's weights were made with");
    return;
  }
  const auto tool = test::tool_path("gan-train");
  REQUIRE(fs::exists(tool));
  test::TempDir tmp;
  auto args = split_flags(read_file(dir / "flags.txt"));
  for (const auto& a : std::vector<std::string>{"--data_path", test::trajectory_hdf5().string(), "--n_classes", "10",
                                                "--base_root", tmp.path.string(), "--no_sheets", "--threads", "1"})
    args.push_back(a);
  std::string base = "env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=" + std::string(kFixtureKernel) + " '" +
                     tool.string() + "'";
  for (const auto& a : args) base += " '" + a + "'";
  const auto folder = tmp.path / "weights" / experiment_name_from_config(parse_train_command(args).config);
  for (int64_t itr : {25, 125}) {
    std::cout << "trajectory weights: gan-train to itr " << itr << " (OPENBLAS_CORETYPE=" << kFixtureKernel << ")\n";
    const std::string cmd = base + " --total_itr " + std::to_string(itr) + (itr > 25 ? " --resume" : "") +
                            " > '" + (tmp / "log.txt").string() + "' 2>&1";
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
    compare_weights(folder, dir / "weights", itr);
  }
}
