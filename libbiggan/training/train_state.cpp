#include "libbiggan/training/train_state.h"

#include <cmath>

#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"

namespace biggan {

c10::IValue TrainState::to_ivalue() const {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("itr", itr);
  d.insert("epoch", epoch);
  d.insert("save_num", save_num);
  d.insert("save_best_num", save_best_num);
  d.insert("best_IS", best_IS);
  d.insert("best_FID", best_FID);
  d.insert("config", config.to_ivalue());
  if (rng_state.defined()) d.insert("rng_state", rng_state);
  if (epoch_rng_state.defined()) d.insert("epoch_rng_state", epoch_rng_state);
  if (epoch_start_itr >= 0) d.insert("epoch_start_itr", epoch_start_itr);
  if (cuda_rng_state.defined()) d.insert("cuda_rng_state", cuda_rng_state);
  // Who wrote the save (util/provenance.h); the reference's load_weights reads only its own keys.
  const auto who = provenance();
  c10::impl::GenericDict p(c10::StringType::get(), c10::AnyType::get());
  p.insert("tool", who.tool);
  p.insert("version", who.version);
  p.insert("command_line", who.command_line);
  d.insert("biggan_provenance", p);
  return d;
}

TrainState TrainState::from_ivalue(const c10::IValue& v, const std::string& source) {
  if (!v.isGenericDict()) throw input_error(source, "not a training state (top level is not a dict)");
  auto d = v.toGenericDict();
  auto get = [&](const char* key) -> c10::IValue {
    auto it = d.find(key);
    if (it == d.end()) throw input_error(source, std::string("training state has no '") + key + "'");
    return it->value();
  };
  auto as_int = [&](const char* key) {
    auto x = get(key);
    if (x.isInt()) return x.toInt();
    if (x.isTensor() && x.toTensor().numel() == 1) return x.toTensor().item<int64_t>();
    throw input_error(source, std::string("training state: '") + key + "' is not an integer");
  };
  auto as_double = [&](const char* key) {
    auto x = get(key);
    if (x.isDouble()) return x.toDouble();
    if (x.isInt()) return static_cast<double>(x.toInt());
    if (x.isTensor() && x.toTensor().numel() == 1) return x.toTensor().item<double>();
    throw input_error(source, std::string("training state: '") + key + "' is not a number");
  };
  TrainState s;
  s.itr = as_int("itr");
  s.epoch = as_int("epoch");
  s.save_num = as_int("save_num");
  s.save_best_num = as_int("save_best_num");
  s.best_IS = as_double("best_IS");
  s.best_FID = as_double("best_FID");
  // Counters index files and iterations: a negative one would resume at a place that never existed.
  const std::pair<const char*, int64_t> counters[] = {
      {"itr", s.itr}, {"epoch", s.epoch}, {"save_num", s.save_num}, {"save_best_num", s.save_best_num}};
  for (const auto& [key, v] : counters)
    if (v < 0) throw input_error(source, std::string("training state: '") + key + "' is " + std::to_string(v) +
                                             ", expected >= 0");
  if (std::isnan(s.best_IS) || std::isnan(s.best_FID))
    throw input_error(source, "training state: best_IS / best_FID is NaN");
  auto tensor = [&](const char* key) {
    auto it = d.find(key);
    if (it == d.end()) return torch::Tensor();
    if (!it->value().isTensor() || it->value().toTensor().scalar_type() != torch::kUInt8)
      throw input_error(source, std::string("training state: '") + key + "' is not a uint8 tensor");
    return it->value().toTensor();
  };
  s.rng_state = tensor("rng_state");
  s.epoch_rng_state = tensor("epoch_rng_state");
  s.cuda_rng_state = tensor("cuda_rng_state");
  if (d.contains("epoch_start_itr")) s.epoch_start_itr = as_int("epoch_start_itr");
  auto cfg = d.find("config");
  if (cfg != d.end()) s.config = Config::from_ivalue(cfg->value(), source);
  return s;
}

}  // namespace biggan
