#include "libbiggan/serialization/module_state.h"

#include <sstream>
#include <vector>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

void collect(const torch::nn::Module& m, const std::string& prefix, StateDict& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) out.insert(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(/*recurse=*/false)) out.insert(prefix + b.key(), b.value());
  for (const auto& c : m.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// Tensors of one kind convert into each other on copy without surprise; across kinds they do not
// (a float file entry for an integer counter is a different file, not a rounding).
const char* dtype_kind(const torch::Tensor& t) {
  if (t.is_complex()) return "complex";
  if (t.is_floating_point()) return "floating-point";
  if (t.scalar_type() == torch::kBool) return "bool";
  return "integer";
}

std::string join(const std::vector<std::string>& v, size_t max_items = 20) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > max_items) out += ", ... (" + std::to_string(v.size() - max_items) + " more)";
  return out;
}

// Every way `sd` fails to fit `own`, by kind.
struct Mismatches {
  std::vector<std::string> missing, unexpected, shape, dtype, non_finite;
  bool empty() const {
    return missing.empty() && unexpected.empty() && shape.empty() && dtype.empty() && non_finite.empty();
  }
  std::string describe() const {
    std::string msg;
    auto part = [&](const std::vector<std::string>& items, const std::string& what) {
      if (!items.empty()) msg += " " + std::to_string(items.size()) + " " + what + ": " + join(items) + ";";
    };
    part(missing, "missing key(s)");
    part(unexpected, "unexpected key(s)");
    part(shape, "shape mismatch(es)");
    part(dtype, "dtype mismatch(es)");
    if (!non_finite.empty())  // a diverged save: every output would be NaN, written without a word
      msg += " NaN or infinite values in " + std::to_string(non_finite.size()) + " tensor(s): " + join(non_finite) + ";";
    msg.pop_back();
    return msg;
  }
};

Mismatches find_mismatches(const StateDict& own, const StateDict& sd, const StateDictLoadOptions& options) {
  Mismatches m;
  for (const auto& item : own) {
    const std::string& key = item.key();
    const torch::Tensor& mine = item.value();
    const torch::Tensor* t = sd.find(key);
    if (!t) {
      if (!options.optional_key || !options.optional_key(key)) m.missing.push_back(key);
    } else if (t->sizes() != mine.sizes()) {
      m.shape.push_back("'" + key + "' has shape " + shape_text(*t) + ", expected " + shape_text(mine));
    } else if (std::string(dtype_kind(*t)) != dtype_kind(mine)) {
      m.dtype.push_back("'" + key + "' is " + std::string(c10::toString(t->scalar_type())) + ", expected " +
                        dtype_kind(mine) + " (" + c10::toString(mine.scalar_type()) + ")");
    } else if ((t->is_floating_point() || t->is_complex()) && !torch::isfinite(*t).all().item<bool>()) {
      m.non_finite.push_back(key);
    }
  }
  for (const auto& item : sd)
    if (!own.contains(item.key()) && !(options.file_only_key && options.file_only_key(item.key())))
      m.unexpected.push_back(item.key());
  return m;
}

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

StateDict clone_state_dict(const StateDict& sd) {
  StateDict out;
  for (const auto& item : sd) out.insert(item.key(), item.value().detach().clone());
  return out;
}

StateDict with_own_storages(const StateDict& sd) {
  StateDict out;
  for (const auto& item : sd) {
    const auto& t = item.value();
    const bool in_larger_buffer = t.defined() && t.storage().nbytes() > size_t(t.numel()) * t.element_size();
    out.insert(item.key(), in_larger_buffer ? t.detach().clone() : t);
  }
  return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& sd, const std::string& source,
                     const StateDictLoadOptions& options) {
  StateDict own = state_dict(module);
  const Mismatches m = find_mismatches(own, sd, options);
  if (!m.empty()) {
    const std::string into = options.into.empty() ? "" : " into " + options.into;
    throw input_error(source, "state dict cannot be loaded" + into + ":" + m.describe());
  }
  torch::NoGradGuard ng;
  for (auto& item : own)
    if (const torch::Tensor* t = sd.find(item.key())) item.value().copy_(*t);
}

}  // namespace biggan
