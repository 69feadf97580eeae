// Both Inception flavours against the reference's outputs on the fixture images (random weights in
// the real file layouts): pool features and logits, 32×32 (resized) and 299×299 inputs.
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
  for (auto net : {Net{"inception_v3_torchvision_legacy.pth", "torchvision"},
                   Net{"pt_inception_fid_random_legacy.pth", "fid"}}) {
    ExtractorOptions o;
    o.weights = test::gunzipped_weights(dir, net.file);
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

TEST_CASE("Inception inference speed-ups do not change the function") {
  test::TempDir dir;
  auto sd = torchfile::load_state_dict(test::gunzipped_weights(dir, "pt_inception_fid_random_legacy.pth"));
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
  auto fid_file = test::gunzipped_weights(dir, "pt_inception_fid_random_legacy.pth");
  auto sd = torchfile::load_state_dict(fid_file);
  auto tv = make_inception(InceptionFlavor::kTorchvision);
  REQUIRE_THROWS_WITH(load_into(*tv, sd, fid_file), Catch::Contains(fid_file) && Catch::Contains("missing weight 'AuxLogits"));
  auto tv_file = test::gunzipped_weights(dir, "inception_v3_torchvision_legacy.pth");
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
