// Loading the reference fixtures: every .pth of every case, both serializations, optimizer and state
// files, and full-size legacy Inception weights (written by Python from the seeded layouts).
#include <zlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"
#include "tests/seeded_weights.h"

using namespace biggan;
namespace tf = biggan::torchfile;

namespace {

void require_same_state_dict(const tf::StateDict& a, const tf::StateDict& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].key());
    REQUIRE(a[i].key() == b[i].key());
    const auto& x = a[i].value();
    const auto& y = b[i].value();
    REQUIRE(x.scalar_type() == y.scalar_type());
    REQUIRE(x.sizes() == y.sizes());
    // bit for bit: compare the raw bytes (NaN-safe)
    auto xb = x.contiguous().view(torch::kUInt8);
    auto yb = y.contiguous().view(torch::kUInt8);
    REQUIRE(torch::equal(xb, yb));
  }
}

std::string gunzip_to(const std::filesystem::path& gz, const std::filesystem::path& out) {
  gzFile f = gzopen(gz.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::ofstream o(out, std::ios::binary);
  std::vector<char> buf(1 << 16);
  int n;
  while ((n = gzread(f, buf.data(), unsigned(buf.size()))) > 0) o.write(buf.data(), n);
  REQUIRE(n == 0);
  gzclose(f);
  return out.string();
}

c10::IValue get(const c10::IValue& dict, const std::string& key) {
  auto d = dict.toGenericDict();
  auto it = d.find(key);
  REQUIRE(it != d.end());
  return it->value();
}

void check_adam_state_dict(const c10::IValue& v, bool after_step) {
  REQUIRE(v.isGenericDict());
  auto state = get(v, "state");
  auto groups = get(v, "param_groups");
  REQUIRE(state.isGenericDict());
  REQUIRE(groups.isList());
  REQUIRE(groups.toListRef().size() >= 1);
  auto g0 = groups.toListRef()[0];
  CHECK(get(g0, "lr").isDouble());
  auto betas = get(g0, "betas");
  REQUIRE(betas.isTuple());
  CHECK(betas.toTupleRef().elements().size() == 2);
  CHECK(get(g0, "amsgrad").isBool());
  auto params = get(g0, "params");
  REQUIRE(params.isList());
  REQUIRE(params.toListRef().size() > 0);
  CHECK(params.toListRef()[0].isInt());
  if (!after_step) {
    CHECK(state.toGenericDict().size() == 0);
    return;
  }
  REQUIRE(state.toGenericDict().size() == params.toListRef().size());
  for (const auto& kv : state.toGenericDict()) {
    REQUIRE(kv.key().isInt());
    auto s = kv.value();
    auto step = get(s, "step");
    CHECK((step.isTensor() || step.isInt() || step.isDouble()));
    CHECK(get(s, "exp_avg").isTensor());
    CHECK(get(s, "exp_avg_sq").isTensor());
    CHECK(get(s, "exp_avg").toTensor().sizes() == get(s, "exp_avg_sq").toTensor().sizes());
  }
}

}  // namespace

TEST_CASE("every .pth of every BigGAN fixture case loads") {
  auto cases = test::fixture_cases("biggan");
  REQUIRE(!cases.empty());
  int n = 0;
  for (const auto& c : cases) {
    for (auto sub : {"init", "step1"}) {
      auto dir = c / sub;
      if (!std::filesystem::is_directory(dir)) continue;
      for (auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".pth") continue;
        std::cout << "loading " << e.path().string() << std::endl;
        auto v = tf::load(e.path().string());
        REQUIRE(v.isGenericDict());
        auto stem = e.path().stem().string();
        if (stem == "G" || stem == "D" || stem == "G_ema") {
          auto sd = tf::load_state_dict(e.path().string());
          CHECK(sd.size() > 0);
          for (auto& item : sd) CHECK(item.value().defined());
        } else if (stem == "G_optim" || stem == "D_optim") {
          check_adam_state_dict(v, std::string(sub) == "step1");
        } else if (stem == "state_dict") {
          CHECK(get(v, "itr").toInt() == (std::string(sub) == "step1" ? 1 : 0));
          CHECK(get(v, "config").isGenericDict());
          CHECK(get(get(v, "config"), "resolution").isInt());
          auto fid = get(v, "best_FID");
          CHECK((fid.isDouble() || fid.isInt()));
        }
        ++n;
      }
    }
  }
  CHECK(n >= 12);
}

TEST_CASE("legacy G_legacy.pth equals the zip-format init/G.pth bit for bit") {
  for (const auto& c : test::fixture_cases("biggan")) {
    auto legacy = c / "G_legacy.pth";
    if (!std::filesystem::exists(legacy)) continue;
    std::cout << "comparing " << legacy.string() << " with init/G.pth" << std::endl;
    auto a = tf::load_state_dict(legacy.string());
    auto b = tf::load_state_dict((c / "init" / "G.pth").string());
    require_same_state_dict(a, b);
  }
}

TEST_CASE("step1 Adam state matches the parameters it belongs to") {
  for (const auto& c : test::fixture_cases("biggan")) {
    auto optim = c / "step1" / "G_optim.pth";
    if (!std::filesystem::exists(optim)) continue;
    std::cout << "checking " << optim.string() << std::endl;
    auto v = tf::load(optim.string());
    auto G = tf::load_state_dict((c / "step1" / "G.pth").string());
    // Every exp_avg has the shape of some parameter of G (Adam state is keyed by parameter index).
    std::set<std::vector<int64_t>> shapes;
    for (auto& item : G) shapes.insert(item.value().sizes().vec());
    for (const auto& kv : get(v, "state").toGenericDict())
      CHECK(shapes.count(get(kv.value(), "exp_avg").toTensor().sizes().vec()) == 1);
  }
}

TEST_CASE("full-size legacy Inception weights load (Python-written, and gzipped extra fixtures)") {
  test::TempDir tmp;
  int n = 0;
  auto check_big = [&](const std::string& path) {
    std::cout << "loading " << path << std::endl;
    auto sd = tf::load_state_dict(path);
    CHECK(sd.size() > 100);
    int64_t total = 0;
    for (auto& item : sd) total += item.value().numel();
    CHECK(total > 1000000);
    ++n;
    return sd;
  };
  // The committed seeded layouts, written in the legacy format by Python's torch.save.
  for (std::string net : {"torchvision", "fid"}) {
    auto legacy = test::seeded_legacy_weights_file(tmp, net);
    if (legacy.empty()) {
      BIGGAN_SKIP("/usr/bin/python3 with torch is needed to write the legacy " << net << " Inception file");
      return;
    }
    auto sd = check_big(legacy);
    auto want = test::seeded_state_dict(test::seeded_layout(net));
    REQUIRE(sd.size() == want.size());
    for (size_t i = 0; i < sd.size(); ++i) CHECK(torch::equal(sd[i].value(), want[i].value()));
  }
  // Extra sources (../shared/fixtures, $BIGGAN_FIXTURES) may hold gzipped real-layout files.
  for (const auto& root : test::fixture_roots()) {
    if (root == test::fixtures_root() || !std::filesystem::is_directory(root / "inception")) continue;
    for (auto& e : std::filesystem::directory_iterator(root / "inception")) {
      auto name = e.path().filename().string();
      if (name.size() < 7 || name.compare(name.size() - 7, 7, ".pth.gz") != 0) continue;
      check_big(gunzip_to(e.path(), tmp / name.substr(0, name.size() - 3)));
    }
  }
  CHECK(n >= 2);
}
