#include "libbiggan/models/state_dict.h"

#include <sstream>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

void collect(const torch::nn::Module& m, const std::string& prefix, StateDict& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) out.insert(prefix + p.key(), p.value());
  for (const auto& b : m.named_buffers(/*recurse=*/false)) out.insert(prefix + b.key(), b.value());
  for (const auto& c : m.named_children()) collect(*c.value(), prefix + c.key() + ".", out);
}

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

std::string join(const std::vector<std::string>& v, size_t max_items = 20) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max_items; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > max_items) out += ", ... (" + std::to_string(v.size() - max_items) + " more)";
  return out;
}

}  // namespace

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& sd, const std::string& source) {
  StateDict own = state_dict(module);
  std::vector<std::string> missing, unexpected, mismatched, non_finite;
  for (const auto& item : own) {
    const torch::Tensor* t = sd.find(item.key());
    if (!t) {
      missing.push_back(item.key());
    } else if (t->sizes() != item.value().sizes()) {
      mismatched.push_back(item.key() + " (file " + shape_str(*t) + ", model " +
                           shape_str(item.value()) + ")");
    } else if (t->is_floating_point() && !torch::isfinite(*t).all().item<bool>()) {
      // A diverged save: every output would be NaN, written without a word.
      non_finite.push_back(item.key());
    }
  }
  for (const auto& item : sd)
    if (!own.contains(item.key())) unexpected.push_back(item.key());
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !non_finite.empty()) {
    std::string msg = "state dict cannot be loaded:";
    if (!missing.empty())
      msg += " " + std::to_string(missing.size()) + " missing key(s): " + join(missing) + ";";
    if (!unexpected.empty())
      msg += " " + std::to_string(unexpected.size()) + " unexpected key(s): " + join(unexpected) + ";";
    if (!mismatched.empty())
      msg += " " + std::to_string(mismatched.size()) + " shape mismatch(es): " + join(mismatched) + ";";
    if (!non_finite.empty())
      msg += " NaN or infinite values in " + std::to_string(non_finite.size()) + " tensor(s): " + join(non_finite) + ";";
    msg.pop_back();
    throw input_error(source, msg);
  }
  torch::NoGradGuard ng;
  for (auto& item : own) item.value().copy_(sd[item.key()]);
}

StateDict clone_state_dict(const StateDict& sd) {
  StateDict out;
  for (const auto& item : sd) out.insert(item.key(), item.value().detach().clone());
  return out;
}

}  // namespace biggan
