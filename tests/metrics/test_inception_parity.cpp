// Both Inception flavours against the reference's outputs on the fixture images (seeded random
// weights, rebuilt from fixtures/inception/weights_*.txt): pool features and logits, 32×32
// (resized) and 299×299 inputs; the same from the legacy-format files of the released weights.
#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/inception.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/torch_file.h"
#include "tests/metrics/metrics_test_util.h"

using namespace biggan;
using namespace biggan::metrics;

TEST_CASE("Inception features and logits match the reference (torchvision and FID-Inception)") {
  test::TempDir dir;
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  struct Net {
    std::string file, network;
  };
  for (auto net : {Net{"weights_torchvision.txt", "torchvision"}, Net{"weights_fid.txt", "fid"}}) {
    ExtractorOptions o;
    o.weights = test::seeded_weights_file(dir, net.network);
    o.device = "cpu";
    auto ex = make_feature_extractor(o);  // the flavour is detected from the file
    CHECK(!ex->random_weights());
    CHECK(ex->description().rfind(net.network + "-inception", 0) == 0);
    for (std::string size : {"small", "full"}) {
      std::cout << "fixture inception/" << net.file << " on " << size << "/x\n";
      auto out = ex->extract(io.read(size + "/x"));
      if (net.network == "torchvision") {
        test::check_close(out.features, io.read(size + "/torchvision_pool"), 1e-4, 1e-5, "pool");
        test::check_close(out.logits, io.read(size + "/torchvision_logits"), 1e-4, 1e-5, "logits");
      } else {
        test::check_close(out.features, io.read(size + "/fid_pool3"), 1e-4, 1e-5, "pool3");
        CHECK(out.logits.size(1) == 1008);
      }
    }
  }
}

TEST_CASE("legacy-format Inception files (the released weights' layout) load to the same network") {
  test::TempDir dir;
  auto io = h5::File::open_read((test::inception_fixtures() / "inception_io.h5").string());
  for (std::string net : {"torchvision", "fid"}) {
    const auto legacy = test::seeded_legacy_weights_file(dir, net);
    if (legacy.empty()) {
      BIGGAN_SKIP("/usr/bin/python3 with torch is needed to write the legacy-format " << net << " file");
      return;
    }
    std::cout << "legacy " << net << " Inception file written by Python's torch.save\n";
    // Bit for bit the seeded values (so LibTorch and Python drew the same numbers).
    auto want = test::seeded_state_dict(test::seeded_layout(net));
    auto got = torchfile::load_state_dict(legacy);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      INFO(want[i].key());
      CHECK(got[i].key() == want[i].key());
      CHECK(torch::equal(got[i].value(), want[i].value()));
    }
    ExtractorOptions o;
    o.weights = legacy;
    o.device = "cpu";
    auto ex = make_feature_extractor(o);
    CHECK(ex->description().rfind(net + "-inception", 0) == 0);
    auto out = ex->extract(io.read("small/x"));
    test::check_close(out.features, io.read(net == "fid" ? "small/fid_pool3" : "small/torchvision_pool"), 1e-4,
                      1e-5, "legacy file pool");
  }
}

TEST_CASE("Inception inference speed-ups do not change the function") {
  test::TempDir dir;
  auto sd = torchfile::load_state_dict(test::seeded_weights_file(dir, "fid"));
  auto net = make_inception(InceptionFlavor::kFid);
  load_into(*net, sd, "fid weights");
  net->eval();
  torch::NoGradGuard ng;
  auto x = torch::rand({2, 3, 40, 40}) * 2 - 1;
  auto plain = net->forward(x);
  net->prepare_for_inference();
  auto fast = net->forward(x);
  test::check_close(fast.pool, plain.pool, 1e-4, 1e-5, "folded/fused pool vs plain");
  test::check_close(fast.logits, plain.logits, 1e-4, 1e-5, "folded/fused logits vs plain");
}

TEST_CASE("Inception weights: wrong files and missing weights are clear errors") {
  test::TempDir dir;
  auto fid_file = test::seeded_weights_file(dir, "fid");
  auto sd = torchfile::load_state_dict(fid_file);
  auto tv = make_inception(InceptionFlavor::kTorchvision);
  REQUIRE_THROWS_WITH(load_into(*tv, sd, fid_file), Catch::Contains(fid_file) && Catch::Contains("missing key(s): AuxLogits"));
  auto tv_file = test::seeded_weights_file(dir, "torchvision");
  auto fid_net = make_inception(InceptionFlavor::kFid);
  REQUIRE_THROWS_WITH(load_into(*fid_net, torchfile::load_state_dict(tv_file), tv_file),
                      Catch::Contains("'fc.weight' has shape [1000, 2048], expected [1008, 2048]"));

  ExtractorOptions o;
  o.weights = fid_file;
  o.network = "torchvision";
  REQUIRE_THROWS_WITH(make_feature_extractor(o), Catch::Contains("fid-Inception weights"));

  ExtractorOptions none;
  none.weights = "";
  ::unsetenv("BIGGAN_INCEPTION_WEIGHTS");
  REQUIRE_THROWS_WITH(make_feature_extractor(none), Catch::Contains("no Inception weights"));
  none.random_weights = true;
  auto ex = make_feature_extractor(none);
  CHECK(ex->random_weights());
  CHECK(ex->description().find("RANDOM") != std::string::npos);
}
