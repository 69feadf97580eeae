// Fine-tuning with another class count (training/fine_tune.h): the 10-class c32 fixture's trained
// step fine-tuned to 3 and to 20 classes on a tiny synthetic data set. Every layer that fits comes
// from the fixture; the class embeddings (G's class-BN embeddings, D's embed) are re-initialised
// exactly as a fresh model of the new run would have them; Adam's state is the fixture's for the
// former and absent for the latter; the run trains and saves with the new shapes.
#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <filesystem>
#include <set>

#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/fine_tune.h"
#include "libbiggan/training/train_cli.h"
#include "libbiggan/training/trainer.h"
#include "libbiggan/training/weights_folder.h"
#include "tests/fixtures.h"

// Last: LibTorch's glog headers define their own CHECK, Catch's must win.
#include <catch2/catch.hpp>

using namespace biggan;
using namespace biggan::test;
namespace fs = std::filesystem;

namespace {

// 16 random 32x32 images, labels 0, 1, 2 in turn.
fs::path three_class_data(const fs::path& dir) {
  const auto path = dir / "three.hdf5";
  torch::manual_seed(99);
  auto f = h5::File::create(path.string());
  f.write("imgs", torch::randint(0, 256, {16, 3, 32, 32}, torch::kInt64).to(torch::kUInt8));
  f.write("labels", torch::arange(16, torch::kInt64).remainder(3));
  f.close();
  return path;
}

// Optimiser state entries by parameter index.
std::map<int64_t, torch::Tensor> exp_avgs(const c10::IValue& optim) {
  std::map<int64_t, torch::Tensor> out;
  for (const auto& kv : optim.toGenericDict().at("state").toGenericDict())
    out[kv.key().toInt()] = kv.value().toGenericDict().at("exp_avg").toTensor();
  return out;
}

bool is_class_tied(const std::string& key, bool is_D) {
  if (is_D) return key.rfind("embed.", 0) == 0;
  // c32 has no shared embedding: the class-BN gains and biases are embeddings of the class.
  return key.rfind("blocks.", 0) == 0 && (key.find(".gain.weight") != std::string::npos ||
                                           key.find(".bias.weight") != std::string::npos);
}

}  // namespace

TEST_CASE("--resume_from W --n_classes K: a 10-class fixture fine-tuned to 3 and to 20 classes", "[fine_tune]") {
  fs::path W;
  for (const auto& c : fixture_cases("biggan"))
    if (c.filename() == "c32") W = c / "step1";
  REQUIRE(!W.empty());
  const auto w = load_weights_folder(W, "", {"G", "D", "G_ema", "G_optim", "D_optim"});
  torch::set_num_threads(1);
  for (int64_t K : {3, 20}) {
    INFO("K = " << K);
    TempDir tmp;
    const auto data = three_class_data(tmp.path);
    // No --G_ch / --D_ch: the fixture's tensors decide them (8), n_classes is the flag's.
    auto cmd = parse_train_command(
        {"--dataset", "I32_hdf5", "--data_path", data.string(), "--n_classes", std::to_string(K), "--base_root",
         (tmp / "run").string(), "--batch_size", "4", "--G_init", "N02", "--D_init", "N02", "--G_attn", "0",
         "--D_attn", "0", "--ema", "--num_epochs", "1000", "--num_save_copies", "0", "--num_best_copies", "0",
         "--test_every", "100000", "--sv_log_interval", "100000", "--seed", "5", "--no_sheets", "--threads", "1",
         "--loader_threads", "1", "--total_itr", "2", "--save_every", "2", "--resume_from", W.string()});
    Trainer trainer(cmd.config, cmd.options);
    Gan& gan = trainer.gan();
    CHECK(gan.config.G_ch == 8);
    CHECK(gan.config.D_ch == 8);
    CHECK(gan.G->n_classes() == K);
    CHECK(gan.D->n_classes() == K);

    // What a fresh model of this run is: the same seed, the same config.
    torch::manual_seed(static_cast<uint64_t>(gan.config.seed));
    Gan fresh = Gan::build(gan.config);
    const struct {
      const char* what;
      torch::nn::Module& now;
      torch::nn::Module& init;
      const StateDict& saved;
      bool is_D;
    } parts[] = {{"G", *gan.G, *fresh.G, w.G, false}, {"D", *gan.D, *fresh.D, w.D, true}};
    for (const auto& p : parts) {
      const StateDict init = state_dict(p.init);
      size_t reinit = 0;
      for (const auto& kv : state_dict(p.now)) {
        INFO(p.what << " " << kv.key());
        const bool tied = is_class_tied(kv.key(), p.is_D);
        if (tied) {
          ++reinit;
          CHECK(kv.value().size(kv.key().find(".u0") != std::string::npos ? 1 : 0) ==
                (kv.key().find(".sv0") != std::string::npos ? 1 : K));
          CHECK(torch::equal(kv.value(), init[kv.key()]));  // exactly the model's init
        } else {
          CHECK(torch::equal(kv.value(), p.saved[kv.key()]));  // carried over
        }
      }
      CHECK(reinit >= 3);
    }
    // G_ema: the fixture's where it fits, G's fresh layers elsewhere.
    for (const auto& kv : state_dict(*gan.G_ema)) {
      INFO("G_ema " << kv.key());
      CHECK(torch::equal(kv.value(), is_class_tied(kv.key(), false) ? state_dict(*gan.G)[kv.key()] : w.G_ema[kv.key()]));
    }
    // Adam: the fixture's state for the parameters carried over, none for the re-initialised.
    for (const auto& [model, optim, saved] :
         {std::tuple<torch::nn::Module*, Adam*, c10::IValue>{gan.G.get(), gan.G_optim.get(), w.G_optim},
          std::tuple<torch::nn::Module*, Adam*, c10::IValue>{gan.D.get(), gan.D_optim.get(), w.D_optim}}) {
      const auto now = exp_avgs(optim->state_dict()), before = exp_avgs(saved);
      REQUIRE(!before.empty());
      int64_t i = 0;
      const bool is_D = model == gan.D.get();
      for (const auto& kv : model->named_parameters(true)) {
        INFO("param " << i << " " << kv.key());
        if (is_class_tied(kv.key(), is_D)) {
          CHECK(now.count(i) == 0);
        } else if (before.count(i)) {
          REQUIRE(now.count(i) == 1);
          CHECK(torch::equal(now.at(i), before.at(i)));
        }
        ++i;
      }
    }
    CHECK(gan.G_optim->options().lr == cmd.config.G_lr);  // the new run's rate, not the fixture's

    // It trains and saves with the new shapes; the fine-tuned run is a new run (itr from 0).
    CHECK(trainer.run().itr == 2);
    const auto saved = load_weights_folder(trainer.paths().weights, "", {"G", "D", "state_dict"});
    CHECK(saved.D["embed.weight"].size(0) == K);
    CHECK(saved.G["blocks.0.0.bn1.gain.weight"].size(0) == K);
    CHECK(saved.state->config.n_classes == K);
    CHECK(saved.state->config.G_ch == 8);
  }
}

TEST_CASE("load_fitting_layers: a layer loads whole or keeps its init", "[fine_tune]") {
  torch::manual_seed(0);
  auto a = torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::Linear(3, 2));
  torch::manual_seed(1);
  auto b = torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::Linear(3, 5));
  const StateDict before = clone_state_dict(state_dict(*b));
  const FittedLoad f = load_fitting_layers(*b, state_dict(*a), "a");
  CHECK(f.loaded == 2);
  const std::vector<std::string> second_layer = {"1.weight", "1.bias"};
  CHECK(f.reinitialised == second_layer);
  CHECK(torch::equal(state_dict(*b)["0.weight"], state_dict(*a)["0.weight"]));
  CHECK(torch::equal(state_dict(*b)["1.weight"], before["1.weight"]));
  // A layer with one misfit keeps all of its init, even the tensors that would fit (the bias here).
  StateDict partial = clone_state_dict(state_dict(*a));
  partial.erase("1.weight");
  partial.insert("1.weight", torch::zeros({2, 7}));
  torch::manual_seed(2);
  auto c = torch::nn::Sequential(torch::nn::Linear(4, 3), torch::nn::Linear(3, 2));
  const StateDict c_before = clone_state_dict(state_dict(*c));
  const FittedLoad g = load_fitting_layers(*c, partial, "partial");
  CHECK(g.reinitialised == second_layer);
  CHECK(torch::equal(state_dict(*c)["1.bias"], c_before["1.bias"]));
  CHECK(torch::equal(state_dict(*c)["0.bias"], state_dict(*a)["0.bias"]));
}
