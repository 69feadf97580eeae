#include "libbiggan/training/fine_tune.h"

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>

#include <map>
#include <ostream>
#include <set>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

// The module a key belongs to: everything before its last dot ("" for a top-level tensor).
std::string layer_of(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string() : key.substr(0, dot);
}

// `optim` (an optimizer state dict) without the state of the parameters at `drop` (their indices).
c10::IValue without_state(const c10::IValue& optim, const std::set<int64_t>& drop) {
  if (!optim.isGenericDict()) return optim;
  auto top = optim.toGenericDict().copy();
  auto it = top.find("state");
  if (it == top.end() || !it->value().isGenericDict()) return optim;
  c10::impl::GenericDict kept(c10::IntType::get(), c10::AnyType::get());
  for (const auto& kv : it->value().toGenericDict())
    if (!(kv.key().isInt() && drop.count(kv.key().toInt()))) kept.insert(kv.key(), kv.value());
  top.insert_or_assign("state", c10::IValue(kept));
  return c10::IValue(top);
}

// Loads `optim` into `adam` without the state of the re-initialised parameters of `module`; the
// new run's own options (lr, betas, eps) stay.
void load_fitting_optimizer(Adam& adam, torch::nn::Module& module, const c10::IValue& optim,
                            const std::vector<std::string>& reinitialised, const std::string& source,
                            std::ostream& log) {
  if (optim.isNone()) return;
  const std::set<std::string> reset(reinitialised.begin(), reinitialised.end());
  std::set<int64_t> drop;
  int64_t i = 0;
  for (const auto& kv : module.named_parameters(true)) {
    if (reset.count(kv.key())) drop.insert(i);
    ++i;
  }
  const AdamOptions options = adam.options();
  try {
    adam.load_state_dict(without_state(optim, drop), source);  // all or nothing
  } catch (const Error& e) {
    log << "gan-train: --resume_from: optimiser state not taken, it starts afresh: " << e.what() << "\n";
  }
  adam.options() = options;
}

}  // namespace

FittedLoad load_fitting_layers(torch::nn::Module& module, const StateDict& from, const std::string& source) {
  const StateDict target = state_dict(module);
  // A layer loads only when all of its tensors fit.
  std::map<std::string, bool> layer_fits;
  for (const auto& kv : target) {
    const torch::Tensor* t = from.find(kv.key());
    const bool fits = t && t->sizes() == kv.value().sizes();
    auto [it, fresh] = layer_fits.emplace(layer_of(kv.key()), fits);
    if (!fresh) it->second = it->second && fits;
  }
  FittedLoad out;
  StateDict subset;
  for (const auto& kv : target) {
    if (layer_fits[layer_of(kv.key())]) {
      subset.insert(kv.key(), *from.find(kv.key()));
      continue;
    }
    out.reinitialised.push_back(kv.key());
    const torch::Tensor* t = from.find(kv.key());
    out.described.push_back(kv.key() + " " + c10::str(kv.value().sizes()) +
                            (t ? " (the save has " + c10::str(t->sizes()) + ")" : " (not in the save)"));
  }
  // The checked loader, told that the re-initialised tensors may be absent and W's extras ignored.
  StateDictLoadOptions o;
  const std::set<std::string> reinit(out.reinitialised.begin(), out.reinitialised.end());
  o.optional_key = [reinit](const std::string& k) { return reinit.count(k) > 0; };
  load_state_dict(module, subset, source, o);
  out.loaded = subset.size();
  return out;
}

void fine_tune_from(Gan& gan, const WeightsFolderContents& w, const std::string& source, std::ostream& log) {
  const auto report = [&](const std::string& what, const FittedLoad& f) {
    for (const auto& d : f.described) log << "gan-train: --resume_from: re-initialised " << what << " " << d << "\n";
    log << "gan-train: --resume_from: " << what << ": " << f.loaded << " tensors from " << source << ", "
        << f.reinitialised.size() << " re-initialised\n";
  };
  const FittedLoad g = load_fitting_layers(*gan.G, w.G, source + "/G.pth");
  report("G", g);
  const FittedLoad d = load_fitting_layers(*gan.D, w.D, source + "/D.pth");
  report("D", d);
  if (gan.G_ema) {
    // The re-initialised layers start as G's, as every layer of G_ema does at the start of a run.
    load_state_dict(*gan.G_ema, state_dict(*gan.G), "G");
    if (!w.G_ema.is_empty()) report("G_ema", load_fitting_layers(*gan.G_ema, w.G_ema, source + "/G_ema.pth"));
  }
  load_fitting_optimizer(*gan.G_optim, *gan.G, w.G_optim, g.reinitialised, source + "/G_optim.pth", log);
  load_fitting_optimizer(*gan.D_optim, *gan.D, w.D_optim, d.reinitialised, source + "/D_optim.pth", log);
}

}  // namespace biggan
