// The TF-Hub BigGAN-deep model options (ModelConfig::G_output_channels, G_output_BN_eps,
// G_BN_levels, the 512 BigGANdeep architecture) and BN statistics chosen by truncation
// (models/truncation_stats.h); the defaults build exactly what they built before.
#include <catch2/catch.hpp>

#include <string>

#include "libbiggan/models/biggan.h"
#include "libbiggan/models/model.h"
#include "libbiggan/models/truncation_stats.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/config.h"
#include "libbiggan/util/error.h"

using namespace biggan;

namespace {

ModelConfig small_deep(int64_t levels) {
  ModelConfig m;
  m.model = "BigGANdeep";
  m.resolution = 32;
  m.G_ch = 4;
  m.G_depth = 2;
  m.G_attn = "0";
  m.dim_z = 8;
  m.n_classes = 5;
  m.G_shared = true;
  m.shared_dim = 8;
  m.hier = true;
  m.G_BN_levels = levels;
  return m;
}

}  // namespace

TEST_CASE("truncation_level_mix: grid levels, linear weights, Hugging Face's lookup", "[truncation_stats]") {
  auto lin = [](double t) { return truncation_level_mix(t, 51, TruncationLookup::kLinear); };
  auto hf = [](double t) { return truncation_level_mix(t, 51, TruncationLookup::kHuggingFace); };
  CHECK(lin(1.0).lower == 50);
  CHECK(lin(1.0).lower_weight == 1);
  CHECK(lin(0.5).lower == 25);
  CHECK(lin(0.5).lower_weight == 1);
  CHECK(lin(0.0).lower == 0);
  // 0.14 * 50 = 7.000000000000001: still level 7 here; Hugging Face's 0.14 / 0.02 leaves a fraction
  // of 8.9e-16 on level 7 and the rest on level 8.
  CHECK(lin(0.14).lower == 7);
  CHECK(lin(0.14).lower_weight == 1);
  CHECK(hf(0.14).lower == 7);
  CHECK(hf(0.14).lower_weight < 1e-14);
  // 0.505 is a quarter past level 25: 0.75 of it linearly, 0.25 in Hugging Face's reversed weights.
  CHECK(lin(0.505).lower == 25);
  CHECK(lin(0.505).lower_weight == Approx(0.75).margin(1e-9));
  CHECK(hf(0.505).lower == 25);
  CHECK(hf(0.505).lower_weight == Approx(0.25).margin(1e-9));
  CHECK(hf(1.0).lower == 50);
  CHECK(hf(1.0).lower_weight == 1);
  CHECK_THROWS_AS(lin(1.5), Error);
  CHECK_THROWS_AS(lin(-0.1), Error);
  CHECK_THROWS_AS(truncation_level_mix(0.5, 1, TruncationLookup::kLinear), Error);
  CHECK(parse_truncation_lookup("huggingface", "x") == TruncationLookup::kHuggingFace);
  CHECK_THROWS_WITH(parse_truncation_lookup("nearest", "--truncation-lookup"), Catch::Contains("--truncation-lookup"));
}

TEST_CASE("G_BN_levels: tables beside every BN's statistics, copied in by truncation", "[truncation_stats]") {
  torch::manual_seed(0);
  auto G = make_generator(small_deep(3));
  const auto sd = state_dict(*G);
  REQUIRE(sd.contains("blocks.0.0.bn1.truncation_means"));
  REQUIRE(sd.contains("output_layer.0.truncation_vars"));
  CHECK(sd["blocks.0.0.bn1.truncation_means"].sizes() == torch::IntArrayRef({3, 16}));
  CHECK(truncation_levels(*G) == 3);
  {
    torch::NoGradGuard ng;
    for (auto& item : G->named_buffers())
      if (item.key().find("truncation_") != std::string::npos) item.value().copy_(torch::randn_like(item.value()));
  }
  const int n = select_truncation_statistics(*G, 0.75, TruncationLookup::kLinear);
  CHECK(n == 3 * 2 * 4 + 1);  // 3 stages of 2 resblocks with 4 BNs each, and the output BN
  const auto after = state_dict(*G);
  const auto& means = after["blocks.1.0.bn2.truncation_means"];
  CHECK(torch::allclose(after["blocks.1.0.bn2.stored_mean"], means[1] * 0.5 + means[2] * 0.5));
  select_truncation_statistics(*G, 1.0, TruncationLookup::kLinear);
  CHECK(torch::equal(state_dict(*G)["output_layer.0.stored_var"], after["output_layer.0.truncation_vars"][2]));
  // A model without tables has none to select.
  auto plain = make_generator(small_deep(0));
  CHECK(truncation_levels(*plain) == 0);
  CHECK(select_truncation_statistics(*plain, 0.5, TruncationLookup::kLinear) == 0);
  for (const auto& item : state_dict(*plain)) CHECK(item.key().find("truncation_") == std::string::npos);
}

TEST_CASE("G_output_channels / G_output_BN_eps: a wider normalised output conv, 3 channels kept", "[truncation_stats]") {
  auto m = small_deep(0);
  m.G_output_channels = 16;
  m.G_output_BN_eps = 1e-4;
  torch::manual_seed(0);
  auto G = make_generator(m);
  G->eval();
  CHECK(state_dict(*G)["output_layer.2.weight"].size(0) == 16);
  CHECK(state_dict(*G)["output_layer.2.u0"].size(1) == 16);
  const auto x = G->forward(torch::randn({2, 8}), G->shared(torch::tensor({0, 4}, torch::kLong)));
  CHECK(x.sizes() == torch::IntArrayRef({2, 3, 32, 32}));
  // The defaults: 3 outputs, layers.bn's eps.
  auto d = make_generator(small_deep(0));
  CHECK(state_dict(*d)["output_layer.2.weight"].size(0) == 3);
}

TEST_CASE("BigGANdeep at 512 (TF-Hub's biggan-deep-512): 14 resblocks, attention at 64", "[truncation_stats]") {
  const auto a = biggan_deep_G_arch(2, "64", 512);
  CHECK(a.in_channels == std::vector<int64_t>{32, 32, 16, 16, 8, 4, 2});
  CHECK(a.out_channels == std::vector<int64_t>{32, 16, 16, 8, 4, 2, 2});
  CHECK(a.attention.at(64));
  ModelConfig m = small_deep(0);
  m.resolution = 512;
  m.G_ch = 4;
  m.G_attn = "64";
  CHECK_NOTHROW(m.validate("x"));
  m.G_ch = 2;  // the last stage's bottleneck would have 2 / 4 channels
  CHECK_THROWS_WITH(m.validate("x"), Catch::Contains("needs G_ch >= 4"));
}

TEST_CASE("the new options: validated, and written to configs only when set", "[truncation_stats]") {
  auto bad = [](auto change, const std::string& what) {
    ModelConfig m = small_deep(0);
    change(m);
    CHECK_THROWS_WITH(m.validate("cfg"), Catch::Contains(what));
  };
  bad([](ModelConfig& m) { m.G_output_channels = 2; }, "G_output_channels");
  bad([](ModelConfig& m) { m.G_BN_levels = 1; }, "G_BN_levels");
  bad([](ModelConfig& m) { m.G_BN_levels = 51, m.mybn = true; }, "G_BN_levels");
  bad([](ModelConfig& m) { m.G_output_BN_eps = 0; }, "G_output_BN_eps");

  const Config defaults;
  CHECK_FALSE(defaults.to_json().contains("G_BN_levels"));
  CHECK_FALSE(defaults.to_json().contains("G_output_channels"));
  CHECK_FALSE(defaults.to_json().contains("G_output_BN_eps"));
  Config c;
  c.G_BN_levels = 51;
  c.G_output_channels = 128;
  c.G_output_BN_eps = 1e-4;
  const auto j = c.to_json();
  CHECK(j.contains("G_BN_levels"));
  const Config back = Config::from_json(j, "j");
  CHECK(back.G_BN_levels == 51);
  CHECK(back.G_output_channels == 128);
  CHECK(back.G_output_BN_eps == 1e-4);
  const Config via_ivalue = Config::from_ivalue(c.to_ivalue(), "iv");
  CHECK(via_ivalue.G_BN_levels == 51);
  CHECK(model_config(via_ivalue).G_output_channels == 128);
}
