// DiffAugment (training/diff_augment) against the authors' DiffAugment_pytorch.py: for every case of
// tests/fixtures/diffaugment (made by make_fixture.py there with the authors' code), the same seed
// gives the same augmented images and the same gradient with respect to the input. Also: the policy
// parser, an empty policy leaves the step as it was, and a training step runs with every policy.
#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/diff_augment.h"
#include "libbiggan/training/gan.h"
#include "libbiggan/training/noise.h"
#include "libbiggan/training/train_step.h"
#include "libbiggan/util/json.h"
#include "libbiggan/util/error.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("DiffAugment equals the authors' code: images and gradients", "[diffaugment]") {
  const auto path = test::fixtures_root() / "diffaugment" / "diffaugment.h5";
  REQUIRE(std::filesystem::exists(path));
  auto f = h5::File::open_read(path.string());
  const auto cases = f.list("/");
  REQUIRE(cases.size() >= 6);
  for (const auto& name : cases) {
    const std::string policy = f.attr_string(name, "policy");
    const int64_t seed = static_cast<int64_t>(f.attr_double(name, "seed"));
    std::cout << "case " << name << " (policy " << policy << ")\n";
    // The fixture drew x and w from the seeded generator first, as the test does.
    torch::manual_seed(seed);
    auto x = torch::randn(f.read(name + "/x").sizes());
    auto w = torch::randn(x.sizes());
    REQUIRE(torch::equal(x, f.read(name + "/x")));
    REQUIRE(torch::equal(w, f.read(name + "/w")));
    auto xg = x.clone().set_requires_grad(true);
    auto out = diff_augment(xg, parse_diff_augment_policy(policy));
    (out * w).sum().backward();
    // Same draws, same arithmetic: the shifts, cut-outs and factors agree exactly; the color means
    // may round differently in the last bit.
    CHECK(torch::allclose(out.detach(), f.read(name + "/out"), 1e-6, 1e-6));
    CHECK(torch::allclose(xg.grad(), f.read(name + "/grad"), 1e-6, 1e-6));
    std::cout << "  max |out diff| " << (out.detach() - f.read(name + "/out")).abs().max().item<double>()
              << ", max |grad diff| " << (xg.grad() - f.read(name + "/grad")).abs().max().item<double>() << "\n";
  }
}

TEST_CASE("DiffAugment policy: parsing, errors, and no policy changes nothing", "[diffaugment]") {
  CHECK(parse_diff_augment_policy("").empty());
  CHECK(parse_diff_augment_policy("translation,cutout") == std::vector<std::string>{"translation", "cutout"});
  CHECK_THROWS_WITH(parse_diff_augment_policy("color,flip"), Catch::Contains("unknown policy part 'flip'"));
  CHECK_THROWS_AS(parse_diff_augment_policy("color,"), Error);
  // No policy: the same tensor back, and no random number drawn.
  auto x = torch::randn({2, 3, 8, 8});
  torch::manual_seed(3);
  CHECK(diff_augment(x, {}).is_same(x));
  auto after = torch::rand({4});
  torch::manual_seed(3);
  CHECK(torch::equal(after, torch::rand({4})));
  // A bad policy is refused with the other training settings, before anything is written.
  Config c;
  c.DiffAugment = "translation,zoom";
  CHECK_THROWS_WITH(c.validate_training("flags"), Catch::Contains("zoom"));
}

TEST_CASE("a training step with DiffAugment: D sees augmented images, losses finite", "[diffaugment]") {
  const auto dir = test::fixtures_root() / "biggan" / "c32";
  auto config = Config::from_json(Json::parse_file((dir / "config.json").string()), (dir / "config.json").string());
  const int64_t rows = config.batch_size * config.num_D_steps * config.num_D_accumulations;
  auto run = [&](const std::string& policy) {
    Config c = config;
    c.DiffAugment = policy;
    c.validate_training("test");
    torch::manual_seed(0);
    Gan gan = Gan::build(c);
    auto x = torch::rand({rows, 3, c.resolution, c.resolution}) * 2 - 1;
    auto y = torch::randint(0, c.n_classes, {rows}, torch::kInt64);
    TrainStep step(gan, std::make_shared<RandomNoise>(c.n_classes));
    auto losses = step.run(x, y, 1);
    CHECK(std::isfinite(losses.G_loss));
    CHECK(std::isfinite(losses.D_loss_real));
    CHECK(std::isfinite(losses.D_loss_fake));
    return std::make_pair(losses, gan.D->named_parameters()["blocks.0.0.conv1.weight"].clone());
  };
  const auto plain = run(""), again = run(""), augmented = run("color,translation,cutout");
  CHECK(torch::equal(plain.second, again.second));  // deterministic
  CHECK_FALSE(torch::equal(plain.second, augmented.second));  // D trained on other images
  CHECK(plain.first.G_loss != augmented.first.G_loss);  // G is scored on augmented fakes
}

TEST_CASE("DiffAugment over ranks: each rank's rows augmented as one process augments the whole batch",
          "[diffaugment]") {
  const auto policy = parse_diff_augment_policy("color,translation,cutout");
  auto x = torch::randn({8, 3, 16, 16});
  torch::manual_seed(5);
  const auto whole = diff_augment(x, policy);
  // Two ranks, each holding rows [4r, 4r + 4) (as the G step splits), and the D step's layout:
  // fake rows then real rows of the global batch, this rank's quarter of each.
  for (int64_t r = 0; r < 2; ++r) {
    torch::manual_seed(5);  // every rank's generator is where the one process's was
    const auto part = diff_augment(x.slice(0, 4 * r, 4 * r + 4), policy, AugmentRows::of(8, {{4 * r, 4}}));
    CHECK(torch::equal(part, whole.slice(0, 4 * r, 4 * r + 4)));
    torch::manual_seed(5);
    const auto joined = torch::cat({x.slice(0, 2 * r, 2 * r + 2), x.slice(0, 4 + 2 * r, 4 + 2 * r + 2)});
    const auto mine = diff_augment(joined, policy, AugmentRows::of(8, {{2 * r, 2}, {4 + 2 * r, 2}}));
    CHECK(torch::equal(mine, torch::cat({whole.slice(0, 2 * r, 2 * r + 2), whole.slice(0, 4 + 2 * r, 4 + 2 * r + 2)})));
  }
  CHECK_THROWS_WITH(diff_augment(x.slice(0, 0, 3), policy, AugmentRows::of(8, {{0, 4}})),
                    Catch::Contains("3 images but 4 rows"));
}
