// The test binaries' main: Catch2's, after the BLAS thread policy every tool applies
// (libbiggan/util/blas_threads.h), so that tests run the arithmetic the tools run, as fast.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <exception>
#include <iostream>

#include "libbiggan/util/blas_threads.h"

int main(int argc, char* argv[]) {
  try {
    biggan::set_blas_threads_from_env();
  } catch (const std::exception& e) {
    std::cerr << "tests: " << e.what() << "\n";
    return 2;
  }
  return Catch::Session().run(argc, argv);
}
