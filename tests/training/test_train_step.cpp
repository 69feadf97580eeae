// The full training step against the reference: every case in fixtures/biggan, starting from the
// case's init/ weights folder, replaying the recorded noise draws. Losses and gradients must match
// (fixtures README tolerances); parameters must differ from the reference's by no more than what
// Adam can make of the measured gradient differences (adam_bound.h), element by element; G_ema
// follows; the optimiser state equals the reference's step1/ files.
#include <catch2/catch.hpp>
#include <cmath>
#include <iostream>
#include <map>
#include <tuple>

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/train_step.h"
#include "tests/fixtures.h"
#include "tests/training/adam_bound.h"

using namespace biggan;

namespace {

using Grads = std::map<std::string, std::vector<torch::Tensor>>;  // name -> gradient per optimiser step

// Gradients from an optimiser's state after its last step (beta1 = 0: exp_avg is the gradient), by
// the module's parameter names, appended to `out`.
void append_last_gradients(const c10::IValue& optim_state, torch::nn::Module& module, Grads& out) {
  auto st = optim_state.toGenericDict().at("state").toGenericDict();
  auto named = module.named_parameters(true);
  REQUIRE(static_cast<size_t>(st.size()) == named.size());
  for (size_t i = 0; i < named.size(); ++i)
    out[named[i].key()].push_back(
        st.at(static_cast<int64_t>(i)).toGenericDict().at("exp_avg").toTensor().to(torch::kDouble));
}

Gan build_from_init(const Config& config, const std::filesystem::path& dir) {
  torch::manual_seed(0);
  Gan gan = Gan::build(config);
  auto init = load_weights_folder(dir / "init", "", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
  gan.load_weights(init, (dir / "init").string());
  gan.G->train();
  gan.D->train();
  if (gan.G_ema) gan.G_ema->train();
  return gan;
}

// Runs our step from init/ with the recorded draws; returns the losses.
StepLosses run_step(Gan& gan, const h5::File& io) {
  auto noise = std::make_shared<ReplayNoise>(io.read("train_step/z_draws"), io.read("train_step/y_draws"));
  TrainStep step(gan, noise);
  auto losses = step(io.read("train_step/x"), io.read("train_step/y"), 1);
  return losses;
}

// Our D gradient of every D step but the last: the same step replayed with num_D_steps = k + 1
// (deterministic: same init, draws and threads), whose D optimiser then holds step k's gradient.
void append_our_earlier_D_gradients(const Config& config, const std::filesystem::path& dir, const h5::File& io,
                                    Grads& out) {
  for (int64_t k = 0; k + 1 < config.num_D_steps; ++k) {
    Config c = config;
    c.num_D_steps = k + 1;
    Gan gan = build_from_init(c, dir);
    run_step(gan, io);
    append_last_gradients(gan.D_optim->state_dict(), *gan.D, out);
  }
}

// The reference's: train_step/D_grads/<k>/<name> for every D step but the last, then step1/'s exp_avg.
// False when the fixture predates per-step gradients and has several D steps: then only the last.
bool reference_gradients(const h5::File& io, const std::filesystem::path& optim_file, torch::nn::Module& module,
                         int64_t steps, Grads& out) {
  for (int64_t k = 0; k + 1 < steps; ++k) {
    const std::string group = "train_step/D_grads/" + std::to_string(k);
    if (!io.exists(group)) {  // the last step's gradient only
      out.clear();
      append_last_gradients(torchfile::load(optim_file.string()), module, out);
      return false;
    }
    for (const auto& kv : module.named_parameters(true)) out[kv.key()].push_back(io.read(group + "/" + kv.key()).to(torch::kDouble));
  }
  append_last_gradients(torchfile::load(optim_file.string()), module, out);
  return true;
}

// Compares every tensor of `sd` with the datasets under `group` of the fixture file (or, where the
// fixture keeps the state after the step only as step1/*.pth, with `file_sd`): buffers within the
// README tolerance, parameters within `bound` (name -> elementwise tolerance) where given.
void check_state(const StateDict& sd, const h5::File& f, const std::string& group, const StateDict* file_sd,
                 const std::map<std::string, torch::Tensor>& bound) {
  std::vector<std::string> names;
  if (f.exists(group)) {
    names = f.list(group);
  } else {
    REQUIRE(file_sd != nullptr);
    for (const auto& kv : *file_sd) names.push_back(kv.key());
  }
  CHECK(names.size() == sd.size());
  for (const auto& name : names) {
    INFO(group << "/" << name);
    const torch::Tensor* mine = sd.find(name);
    REQUIRE(mine != nullptr);
    auto want = f.exists(group) ? f.read(group + "/" + name) : (*file_sd)[name];
    REQUIRE(mine->sizes() == want.sizes());
    auto got = mine->detach().to(torch::kDouble);
    auto w = want.to(torch::kDouble);
    auto it = bound.find(name);
    auto allowed = it != bound.end() ? it->second : 1e-6 + 1e-4 * w.abs();
    auto diff = (got - w).abs();
    const int64_t off = (diff > allowed).sum().item<int64_t>();
    // Elements past the README tolerance that Adam's bound admits: near-zero gradients amplified.
    const auto past_readme = diff > 1e-6 + 1e-4 * w.abs();
    if (it != bound.end() && past_readme.any().item<bool>())
      std::cout << "  " << group << "/" << name << ": " << past_readme.sum().item<int64_t>() << " of " << got.numel()
                << " elements past rtol 1e-4 / atol 1e-6, max abs diff " << diff.max().item<double>()
                << ", largest share of Adam's bound used " << (diff / allowed).max().item<double>() << "\n";
    if (off)
      std::cout << "  mismatch " << group << "/" << name << " max abs diff " << diff.max().item<double>()
                << " elements off " << off << "/" << got.numel() << "\n";
    CHECK(off == 0);
  }
}

}  // namespace

TEST_CASE("training step matches the reference on every fixture case") {
  auto cases = test::fixture_cases("biggan");
  REQUIRE_FALSE(cases.empty());
  for (const auto& dir : cases) {
    std::cout << "train step case " << dir.string() << "\n";
    INFO("case " << dir.string());
    auto config = Config::from_json(Json::parse_file((dir / "config.json").string()), (dir / "config.json").string());
    // The fixtures were made with two threads; reduction order follows the thread count.
    torch::set_num_threads(2);
    auto init = load_weights_folder(dir / "init", "", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
    REQUIRE(init.state->itr == 0);
    Gan gan = build_from_init(config, dir);
    auto io = h5::File::open_read((dir / "io.h5").string());
    auto losses = run_step(gan, io);

    CHECK(losses.G_loss == Approx(io.attr_double("train_step", "G_loss")).epsilon(1e-4).margin(1e-5));
    CHECK(losses.D_loss_real == Approx(io.attr_double("train_step", "D_loss_real")).epsilon(1e-4).margin(1e-5));
    CHECK(losses.D_loss_fake == Approx(io.attr_double("train_step", "D_loss_fake")).epsilon(1e-4).margin(1e-5));

    // Gradients, every optimiser step: ours against the reference's, within 1e-3 relative and an
    // absolute floor of 1e-4 of the model's largest gradient (float32 sums over a batch).
    Grads G_ours, G_ref, D_ours, D_ref;
    append_last_gradients(gan.G_optim->state_dict(), *gan.G, G_ours);
    REQUIRE(reference_gradients(io, dir / "step1" / "G_optim.pth", *gan.G, 1, G_ref));
    append_our_earlier_D_gradients(config, dir, io, D_ours);
    append_last_gradients(gan.D_optim->state_dict(), *gan.D, D_ours);
    const bool D_per_step = reference_gradients(io, dir / "step1" / "D_optim.pth", *gan.D, config.num_D_steps, D_ref);
    if (!D_per_step) {
      // An extra fixture source (../shared, $BIGGAN_FIXTURES) made before per-step gradients were
      // recorded: D's last gradient and optimiser state are compared, its parameters (which carry the
      // unrecorded earlier steps) are not. The repository's own cases check them all.
      std::cout << "  " << dir.string() << ": no train_step/D_grads; D parameters not compared, its last "
                << "gradient and optimiser state are\n";
      for (auto& [name, g] : D_ours) g.erase(g.begin(), g.end() - 1);
    }
    std::map<std::string, torch::Tensor> G_bound, G_ema_bound, D_bound;
    for (auto [model, ours, ref, bound, lr, b1, b2] :
         {std::tuple{"G", &G_ours, &G_ref, &G_bound, config.G_lr, config.G_B1, config.G_B2},
          std::tuple{"D", &D_ours, &D_ref, &D_bound, config.D_lr, config.D_B1, config.D_B2}}) {
      REQUIRE(b1 == 0.0);  // the gradient is read from exp_avg, and the bound assumes beta1 = 0
      double scale = 0;
      for (const auto& [name, g] : *ref)
        for (const auto& t : g) scale = std::max(scale, t.abs().max().item<double>());
      const test::AdamSettings adam{lr, b2, config.adam_eps};
      for (const auto& [name, ref_g] : *ref) {
        const auto& our_g = ours->at(name);
        REQUIRE(our_g.size() == ref_g.size());
        std::vector<torch::Tensor> diff;
        for (size_t k = 0; k < ref_g.size(); ++k) {
          INFO(model << " gradient of " << name << " at step " << k);
          const bool close = torch::allclose(our_g[k], ref_g[k], 1e-3, 1e-4 * scale);
          if (!close)
            std::cout << "  gradient mismatch " << model << " " << name << " step " << k << " max abs diff "
                      << (our_g[k] - ref_g[k]).abs().max().item<double>() << " (floor " << 1e-4 * scale << ")\n";
          CHECK(close);
          diff.push_back((our_g[k] - ref_g[k]).abs());
        }
        (*bound)[name] = test::adam_parameter_bound(ref_g, diff, adam);
      }
    }
    // Float32 application of the updates: a few ulp of the parameter per step, on top of the bound.
    auto with_rounding = [](std::map<std::string, torch::Tensor> bound, const StateDict& ref, double factor,
                            int64_t steps) {
      for (auto& [name, b] : bound) b = factor * b + steps * (1e-9 + 1e-6 * ref[name].to(torch::kDouble).abs());
      return bound;
    };
    auto step1 = load_weights_folder(dir / "step1", "", {"G", "D", "G_ema", "G_optim", "D_optim", "state_dict"});
    // G_ema = decay * G_init + (1 - decay) * G (the reference pegs decay to 0 before ema_start).
    const double ema_factor = 1 - (1 < config.ema_start ? 0.0 : config.ema_decay);
    check_state(state_dict(*gan.G), io, "train_step/G", &step1.G, with_rounding(G_bound, step1.G, 1.0, 1));
    if (D_per_step)
      check_state(state_dict(*gan.D), io, "train_step/D", &step1.D,
                  with_rounding(D_bound, step1.D, 1.0, config.num_D_steps));
    if (gan.G_ema)
      check_state(state_dict(*gan.G_ema), io, "train_step/G_ema", &step1.G_ema,
                  with_rounding(G_bound, step1.G_ema, ema_factor, 1));

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
        if (!close)
          std::cout << "  second moment mismatch " << name << " " << kv.key().toInt() << " max diff "
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
