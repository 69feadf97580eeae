#include <catch2/catch.hpp>

#include "libbiggan/util/device.h"
#include "libbiggan/util/error.h"

using biggan::pick_device;

TEST_CASE("pick_device: cpu, the default, and clear errors", "[device]") {
  CHECK(pick_device("cpu").is_cpu());
  // The default is CUDA exactly when this build and machine have it.
  CHECK(pick_device("").is_cuda() == torch::cuda::is_available());
  CHECK_THROWS_WITH(pick_device("gpu"), Catch::Contains("--device gpu") && Catch::Contains("not a device name"));
  CHECK_THROWS_AS(pick_device("cpu:x"), biggan::Error);
  if (!torch::cuda::is_available()) {
    CHECK_THROWS_WITH(pick_device("cuda"), Catch::Contains("no CUDA"));
    CHECK_THROWS_WITH(pick_device("cuda:1"), Catch::Contains("no CUDA"));
  } else {
    CHECK(pick_device("cuda").is_cuda());
    CHECK_THROWS_WITH(pick_device("cuda:999"), Catch::Contains("CUDA device"));
  }
}
