// Timing of save / load for a checkpoint of BigGAN-128 size (hidden: run with
// `test_serialization "[bench]"`). Prints MB/s; compares with Python's torch.load when available.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>

#include "libbiggan/serialization/torch_file.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;
namespace tf = biggan::torchfile;

TEST_CASE("save/load throughput of a 256 MB state dict", "[.][bench]") {
  test::TempDir tmp;
  tf::StateDict sd;
  for (int i = 0; i < 64; ++i) sd.insert("layer" + std::to_string(i) + ".weight", torch::randn({1024, 1024}));
  double mb = 64 * 4.0;
  auto path = (tmp / "big.pth").string();
  auto t0 = std::chrono::steady_clock::now();
  tf::save_state_dict(path, sd);
  auto t1 = std::chrono::steady_clock::now();
  auto back = tf::load_state_dict(path);
  auto t2 = std::chrono::steady_clock::now();
  double s_save = std::chrono::duration<double>(t1 - t0).count(), s_load = std::chrono::duration<double>(t2 - t1).count();
  std::cout << "save " << s_save << " s (" << mb / s_save << " MB/s), load " << s_load << " s (" << mb / s_load
            << " MB/s)" << std::endl;
  REQUIRE(back.size() == sd.size());
  if (test::python_has("torch")) {
    int rc = 0;
    auto out = test::run_python(tmp,
                                "import sys, time\nt = time.time()\nsd = torch.load(sys.argv[1])\n"
                                "print('python torch.load %.3f s' % (time.time() - t))\n",
                                path, &rc);
    std::cout << out;
  }
}
