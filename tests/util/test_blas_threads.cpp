// util/blas_threads.h: OpenBLAS runs one thread beside LibTorch's pool unless told otherwise.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "libbiggan/util/blas_threads.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("BIGGAN_BLAS_THREADS: a count from 1 to 9999 or system, anything else refused") {
  for (const std::string bad : {"0", "-1", "two", "1.5", " 1", "99999"})
    CHECK_THROWS_WITH(set_blas_threads(bad),
                      Catch::Contains("BIGGAN_BLAS_THREADS") && Catch::Contains("'" + bad + "'"));
  CHECK(set_blas_threads("system") == 0);
}

TEST_CASE("the policy sets OpenBLAS's thread count, and a matmul computes the same bits") {
  if (blas_threads() == 0) BIGGAN_SKIP("the BLAS LibTorch uses is not OpenBLAS: nothing to set");
  const int before = blas_threads();
  torch::manual_seed(0);
  const auto a = torch::randn({64, 300}), b = torch::randn({300, 200});
  CHECK(set_blas_threads("2") == 2);
  CHECK(blas_threads() == 2);
  const auto two = torch::mm(a, b);
  CHECK(set_blas_threads("") == 1);  // the default
  CHECK(blas_threads() == 1);
  const auto one = torch::mm(a, b);
  CHECK(torch::equal(one, two));  // OpenBLAS splits the output among threads, not the sums
  CHECK(set_blas_threads("system") == 0);
  CHECK(blas_threads() == 1);  // "system" leaves the count as it is
  set_blas_threads(std::to_string(before));
}
