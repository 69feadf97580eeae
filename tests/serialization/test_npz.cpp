// numpy .npz / .npy: our round trip, numpy-written fixtures read by us, our files read by np.load.
#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "libbiggan/serialization/npz.h"
#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"
#include "tests/serialization/python_oracle.h"

using namespace biggan;

namespace {

npz::Arrays sample_arrays() {
  torch::manual_seed(3);
  return {{"mu", torch::randn({64}, torch::kDouble)},
          {"sigma", torch::randn({64, 64}, torch::kDouble)},
          {"x", torch::randint(0, 256, {4, 3, 8, 8}).to(torch::kUInt8)},
          {"y", torch::arange(4, torch::kLong)},
          {"f", torch::randn({2, 3}).t()},  // non-contiguous: written in C order
          {"i8", torch::arange(-5, 5, torch::kChar)},
          {"i16", torch::arange(-5, 5, torch::kShort)},
          {"i32", torch::arange(-5, 5, torch::kInt)},
          {"b", torch::tensor({true, false})},
          {"scalar", torch::tensor(1.5, torch::kDouble)},
          {"empty", torch::empty({0, 2})}};
}

}  // namespace

TEST_CASE("npz round trip keeps names, order, dtypes, shapes and values") {
  test::TempDir tmp;
  auto a = sample_arrays();
  auto path = (tmp / "a.npz").string();
  npz::save(path, a);
  auto b = npz::load(path);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].first);
    CHECK(b[i].first == a[i].first);
    CHECK(b[i].second.scalar_type() == a[i].second.scalar_type());
    CHECK(b[i].second.sizes() == a[i].second.sizes());
    CHECK(torch::equal(b[i].second, a[i].second));
  }
  CHECK(torch::equal(npz::get(b, "sigma", path), a[1].second));
  CHECK_THROWS_WITH(npz::get(b, "nope", path), Catch::Contains("no array 'nope'") && Catch::Contains("mu, sigma"));
  auto npy = (tmp / "one.npy").string();
  npz::save_npy(npy, a[2].second);
  CHECK(torch::equal(npz::load_npy(npy), a[2].second));
  CHECK_THROWS_AS(npz::save(path, {{"c", torch::ones({2}, torch::kComplexFloat)}}), Error);
  CHECK(torch::equal(npz::load(path)[0].second, a[0].second));  // the failed save left the file alone
}

TEST_CASE("numpy-written moments fixtures are read") {
  for (auto name : {"moments_a.npz", "moments_b.npz"}) {
    auto path = (test::fixtures_root() / "inception" / name).string();
    std::cout << "reading " << path << std::endl;
    auto a = npz::load(path);
    auto mu = npz::get(a, "mu", path), sigma = npz::get(a, "sigma", path);
    CHECK(mu.scalar_type() == torch::kDouble);
    REQUIRE(mu.dim() == 1);
    CHECK(sigma.sizes() == torch::IntArrayRef({mu.size(0), mu.size(0)}));
    CHECK(torch::allclose(sigma, sigma.t()));  // a covariance matrix
  }
}

TEST_CASE("np.load reads our npz and we read numpy's savez, savez_compressed, Fortran and big-endian") {
  if (!test::python_has("numpy")) {
    BIGGAN_SKIP("/usr/bin/python3 with numpy not found: the numpy oracle check");
    return;
  }
  test::TempDir tmp;
  auto ours = (tmp / "ours.npz").string();
  auto a = sample_arrays();
  npz::save(ours, a);
  std::string script = R"PY(
import sys, numpy as np
d = np.load(sys.argv[1])
for k in d.files:
    v = d[k]
    print(k, v.dtype.str, list(v.shape), repr(float(v.astype(np.float64).sum())))
rng = np.random.RandomState(0)
arrs = dict(f8=rng.randn(5, 4), f4=rng.randn(3).astype(np.float32), i8=np.arange(-3, 3),
            u1=np.arange(250, 256, dtype=np.uint8), b1=np.array([True, False, True]),
            fort=np.asfortranarray(rng.randn(3, 4)), big=np.arange(6, dtype='>i4').reshape(2, 3),
            bigf=rng.randn(4).astype('>f8'), i2=np.arange(-2, 2, dtype=np.int16), i1=np.arange(-2, 2, dtype=np.int8))
np.savez(sys.argv[2], **arrs)
np.savez_compressed(sys.argv[3], **arrs)
for k, v in arrs.items():
    print("W", k, repr(float(v.astype(np.float64).sum())), repr(float((v.astype(np.float64).ravel() * np.arange(1, v.size + 1)).sum())))
)PY";
  auto plain = (tmp / "np.npz").string(), compressed = (tmp / "npc.npz").string();
  int rc = 0;
  auto out = test::run_python(tmp, script, ours + " " + plain + " " + compressed, &rc, /*import_torch=*/false);
  INFO(out);
  REQUIRE(rc == 0);
  std::istringstream in(out);
  std::string line;
  size_t i = 0;
  std::map<std::string, std::pair<double, double>> written;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string k;
    ls >> k;
    if (k == "W") {
      std::string name;
      double s, w;
      ls >> name >> s >> w;
      written[name] = {s, w};
      continue;
    }
    REQUIRE(i < a.size());
    CHECK(k == a[i].first);
    std::string rest;
    std::getline(ls, rest);
    double sum = a[i].second.to(torch::kDouble).sum().item<double>();
    double py_sum = std::stod(rest.substr(rest.rfind(' ') + 1));
    CHECK(py_sum == Approx(sum).epsilon(1e-12));
    ++i;
  }
  CHECK(i == a.size());
  for (auto& path : {plain, compressed}) {
    std::cout << "reading numpy-written " << path << std::endl;
    auto b = npz::load(path);
    REQUIRE(b.size() == written.size());
    for (auto& [name, t] : b) {
      INFO(name);
      auto d = t.to(torch::kDouble).reshape(-1);
      CHECK(d.sum().item<double>() == Approx(written[name].first).epsilon(1e-12));
      auto w = (d * torch::arange(1, d.numel() + 1, torch::kDouble)).sum().item<double>();
      CHECK(w == Approx(written[name].second).epsilon(1e-12));
    }
    CHECK(npz::get(b, "fort", path).sizes() == torch::IntArrayRef({3, 4}));
    CHECK(npz::get(b, "big", path)[1][2].item<int>() == 5);
  }
}

TEST_CASE("bad npz files are clear errors") {
  test::TempDir tmp;
  auto path = (tmp / "a.npz").string();
  npz::save(path, sample_arrays());
  std::string bytes = read_file(path);
  auto cut = (tmp / "cut.npz").string();
  for (size_t k = 0; k < 40; ++k) {
    std::filesystem::remove(cut);  // no in-place truncation (slow on ext4, see test_torch_file_bad.cpp)
    std::ofstream(cut, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size() * k / 40));
    CHECK_THROWS_AS(npz::load(cut), Error);
  }
  // A complete version-1 header (the literal is sized: it holds NUL bytes) whose dtype is complex.
  const std::string c8_header = "{'descr': '<c8'}";
  const std::string c8 = std::string("\x93NUMPY\x01\x00", 8) + char(c8_header.size()) + char(0) + c8_header;
  CHECK_THROWS_WITH(npz::parse_npy(c8, "c8.npy"),
                    Catch::StartsWith("c8.npy") && Catch::Contains("unsupported dtype '<c8'"));
  CHECK_THROWS_WITH(npz::parse_npy(std::string("\x93NUMPX\x01\x00", 8) + char(c8_header.size()) + char(0) + c8_header, "m.npy"),
                    Catch::StartsWith("m.npy") && Catch::Contains("bad magic"));
  std::string huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + char(huge.size()) + char(0) + huge;
  CHECK_THROWS_WITH(npz::parse_npy(npy, "y"), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(npz::load((tmp / "missing.npz").string()), Catch::Contains("cannot open"));
}

TEST_CASE("what a file contains cannot break an error onto two lines (fuzzer findings)") {
  // A dtype string with a newline in it (found by fuzz_npy): the message shows it escaped.
  std::string header = "{'descr': '|\nb1', 'fortran_order': False, 'shape': (2,), }\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) + header + "\x01\x00";
  try {
    npz::parse_npy(npy, "a.npy");
    FAIL("parsed");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), !Catch::Contains("\n") && Catch::Contains("unsupported dtype '|\\nb1'"));
  }
  // An entry name with control characters (found by fuzz_zip / fuzz_npz), named in the error.
  test::TempDir tmp;
  auto path = (tmp / "names.npz").string();
  {
    zip::Writer w(path);
    w.add("bad\n\x01name.npy", std::string("not an npy"));
    w.finish();
  }
  try {
    npz::load(path);
    FAIL("loaded");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), !Catch::Contains("\n") && Catch::Contains("bad\\n\\x01name.npy"));
  }
}

TEST_CASE("an empty .npy array parses (no copy from a null data pointer: UBSan finding)") {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) + header;
  auto t = npz::parse_npy(npy, "empty.npy");
  CHECK(t.sizes() == torch::IntArrayRef({0, 4}));
  CHECK(t.scalar_type() == torch::kFloat);
}

TEST_CASE("an empty .npy array with huge other dimensions is refused, not a LibTorch overflow (fuzz_npy)") {
  std::string header = "{'descr': '<f4', 'fortran_order': True, 'shape': (0, 20, 7777777, 777777777779), }\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8) + char(header.size()) + char(0) + header;
  CHECK_THROWS_WITH(npz::parse_npy(npy, "e.npy"), Catch::StartsWith("e.npy") && Catch::Contains("too large"));
  std::string truee = "{'descr': '<f4', 'fortran_order': Truee, 'shape': (1,), }\n";
  CHECK_THROWS_WITH(npz::parse_npy(std::string("\x93NUMPY\x01\x00", 8) + char(truee.size()) + char(0) + truee + "abcd", "t.npy"),
                    Catch::Contains("bad fortran_order"));
}
