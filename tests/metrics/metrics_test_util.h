// Helpers shared by the metrics tests: the fixture paths, seeded weights, tolerance checks.
#pragma once
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/fixtures.h"
#include "tests/seeded_weights.h"

namespace biggan::test {

inline std::filesystem::path inception_fixtures() { return fixtures_root() / "inception"; }


// |a - b| <= atol + rtol |b| elementwise; prints the worst deviation.
inline void check_close(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol,
                        const std::string& what) {
  REQUIRE(a.sizes() == b.sizes());
  auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  auto diff = (a64 - b64).abs();
  auto bad = diff > (atol + rtol * b64.abs());
  std::cout << "  " << what << ": max |diff| " << diff.max().item<double>() << " (max |ref| "
            << b64.abs().max().item<double>() << ")\n";
  CHECK(bad.sum().item<int64_t>() == 0);
}

// Runs a shell command, returns its exit status; stdout/stderr captured in the given files.
inline int run_shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace biggan::test
