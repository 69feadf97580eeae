#include "libbiggan/training/adam.h"

#include <cmath>

#include "libbiggan/training/flat_buffer.h"
#include "libbiggan/util/error.h"

namespace biggan {

Adam::Adam(std::vector<torch::Tensor> params, AdamOptions options)
    : params_(std::move(params)), state_(params_.size()), options_(options) {}

bool Adam::grads_are_flat() const {
  if (!flat_grad_.defined()) return false;
  for (size_t i = 0; i < params_.size(); ++i)
    if (!is_view_at(params_[i].grad(), flat_grad_, offset_[i])) return false;
  return true;
}

bool Adam::flat_buffers_valid() const {
  if (!flat_param_.defined()) return false;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& st = state_[i];
    if (!st.initialized || st.step != state_[0].step || !is_view_at(params_[i], flat_param_, offset_[i]) ||
        !is_view_at(params_[i].grad(), flat_grad_, offset_[i]) || !is_view_at(st.exp_avg, flat_avg_, offset_[i]) ||
        !is_view_at(st.exp_avg_sq, flat_avg_sq_, offset_[i]))
      return false;
  }
  return true;
}

bool Adam::build_flat_buffers() {
  flat_param_ = flat_grad_ = flat_avg_ = flat_avg_sq_ = torch::Tensor();
  if (params_.empty() || !params_[0].is_floating_point()) return false;
  const auto& p0 = params_[0];
  offset_.assign(params_.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i];
    const auto g = p.grad();
    // One dtype and device, dense, every gradient there, and the moments all fresh or all as old.
    if (p.scalar_type() != p0.scalar_type() || p.device() != p0.device() || !p.is_contiguous() ||
        !g.defined() || g.sizes() != p.sizes() || g.scalar_type() != p.scalar_type() ||
        state_[i].initialized != state_[0].initialized || state_[i].step != state_[0].step)
      return false;
    offset_[i] = total;
    total += p.numel();
  }
  std::vector<torch::Tensor> grads, avgs, avg_sqs;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& st = state_[i];
    if (!st.initialized) {
      st.exp_avg = torch::zeros_like(params_[i]);
      st.exp_avg_sq = torch::zeros_like(params_[i]);
      st.initialized = true;
    }
    grads.push_back(params_[i].grad());
    avgs.push_back(st.exp_avg);
    avg_sqs.push_back(st.exp_avg_sq);
  }
  // The parameters stay the module's own tensors, now stored in the buffer; the gradients and
  // moments are replaced by views.
  flat_param_ = gather_into_one_buffer(params_);
  auto install = [&](const std::vector<torch::Tensor>& parts, auto&& put) {
    auto flat = concatenate_as_views(parts);
    for (size_t i = 0; i < params_.size(); ++i) put(i, flat.views[i]);
    return flat.buffer;
  };
  flat_grad_ = install(grads, [&](size_t i, const torch::Tensor& v) { params_[i].mutable_grad() = v; });
  flat_avg_ = install(avgs, [&](size_t i, const torch::Tensor& v) { state_[i].exp_avg = v; });
  flat_avg_sq_ = install(avg_sqs, [&](size_t i, const torch::Tensor& v) { state_[i].exp_avg_sq = v; });
  return true;
}

void Adam::zero_grad() {
  if (grads_are_flat()) {
    flat_grad_.zero_();
    return;
  }
  for (auto& p : params_) {
    auto& g = p.mutable_grad();
    if (g.defined()) {
      g.detach_();
      g.zero_();
    }
  }
}

void Adam::step() {
  torch::NoGradGuard no_grad;
  flat_used_ = flat_enabled_ && (flat_buffers_valid() || build_flat_buffers());
  if (!flat_used_) {
    for (size_t i = 0; i < params_.size(); ++i) step_one(i);
    return;
  }
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  for (auto& st : state_) st.step += 1;
  auto grad = flat_grad_;
  if (options_.weight_decay != 0) grad = grad.add(flat_param_, options_.weight_decay);
  // step_one's ops on all parameters at once.
  flat_avg_.mul_(beta1).add_(grad, 1 - beta1);
  flat_avg_sq_.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  const double step = state_[0].step;
  const double step_size = options_.lr / (1 - std::pow(beta1, step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(beta2, step));
  auto denom = (flat_avg_sq_.sqrt() / bias_correction2_sqrt).add_(options_.eps);
  flat_param_.addcdiv_(flat_avg_, denom, -step_size);
}

void Adam::step_one(size_t i) {
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  auto& p = params_[i];
  auto grad = p.grad();
  if (!grad.defined()) return;
  auto& st = state_[i];
  if (!st.initialized) {
    st.step = 0;
    st.exp_avg = torch::zeros_like(p, torch::MemoryFormat::Preserve);
    st.exp_avg_sq = torch::zeros_like(p, torch::MemoryFormat::Preserve);
    st.initialized = true;
  }
  st.step += 1;
  if (options_.weight_decay != 0) grad = grad.add(p, options_.weight_decay);
  // The same ops in the same order as torch/optim/adam.py (_single_tensor_adam), scalars in double.
  st.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
  st.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  const double step = st.step;
  const double bias_correction1 = 1 - std::pow(beta1, step);
  const double bias_correction2 = 1 - std::pow(beta2, step);
  const double step_size = options_.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  auto denom = (st.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(options_.eps);
  p.addcdiv_(st.exp_avg, denom, -step_size);
}

c10::IValue Adam::state_dict() const {
  c10::impl::GenericDict state(c10::IntType::get(), c10::AnyType::get());
  for (size_t i = 0; i < state_.size(); ++i) {
    if (!state_[i].initialized) continue;
    c10::impl::GenericDict s(c10::StringType::get(), c10::AnyType::get());
    s.insert("step", torch::full({}, state_[i].step, torch::kFloat32));
    s.insert("exp_avg", state_[i].exp_avg.clone());
    s.insert("exp_avg_sq", state_[i].exp_avg_sq.clone());
    state.insert(static_cast<int64_t>(i), s);
  }
  c10::impl::GenericDict group(c10::StringType::get(), c10::AnyType::get());
  group.insert("lr", options_.lr);
  group.insert("betas", c10::ivalue::Tuple::create({options_.beta1, options_.beta2}));
  group.insert("eps", options_.eps);
  group.insert("weight_decay", options_.weight_decay == 0 ? c10::IValue(int64_t(0))
                                                          : c10::IValue(options_.weight_decay));
  group.insert("amsgrad", false);
  group.insert("maximize", false);
  group.insert("foreach", c10::IValue());
  group.insert("capturable", false);
  group.insert("differentiable", false);
  group.insert("fused", false);
  c10::impl::GenericList ids(c10::AnyType::get());
  for (size_t i = 0; i < params_.size(); ++i) ids.push_back(static_cast<int64_t>(i));
  group.insert("params", ids);
  c10::impl::GenericList groups(c10::AnyType::get());
  groups.push_back(group);
  c10::impl::GenericDict out(c10::StringType::get(), c10::AnyType::get());
  out.insert("state", state);
  out.insert("param_groups", groups);
  return out;
}

namespace {
const c10::IValue& member(const c10::impl::GenericDict& d, const std::string& key, const std::string& source) {
  auto it = d.find(key);
  if (it == d.end()) throw input_error(source, "optimizer state has no '" + key + "'");
  return it->value();
}
double number(const c10::IValue& v, const std::string& what, const std::string& source) {
  if (v.isDouble()) return v.toDouble();
  if (v.isInt()) return static_cast<double>(v.toInt());
  throw input_error(source, "optimizer state: '" + what + "' is not a number");
}
}  // namespace

void Adam::load_state_dict(const c10::IValue& sd, const std::string& source) {
  if (!sd.isGenericDict()) throw input_error(source, "not an optimizer state dict (top level is not a dict)");
  auto top = sd.toGenericDict();
  const auto& groups_v = member(top, "param_groups", source);
  if (!groups_v.isList() || groups_v.toListRef().size() != 1)
    throw input_error(source, "optimizer state: expected exactly one param group");
  const auto& group_v = groups_v.toListRef()[0];
  if (!group_v.isGenericDict()) throw input_error(source, "optimizer state: param group is not a dict");
  auto group = group_v.toGenericDict();
  const auto& ids = member(group, "params", source);
  if (!ids.isList() || ids.toListRef().size() != params_.size())
    throw input_error(source, "optimizer state is for " +
                                  std::to_string(ids.isList() ? ids.toListRef().size() : 0) +
                                  " parameters, the model has " + std::to_string(params_.size()));
  AdamOptions opt = options_;
  opt.lr = number(member(group, "lr", source), "lr", source);
  const auto& betas = member(group, "betas", source);
  if (!betas.isTuple() || betas.toTupleRef().elements().size() != 2)
    throw input_error(source, "optimizer state: 'betas' is not a pair");
  opt.beta1 = number(betas.toTupleRef().elements()[0], "betas", source);
  opt.beta2 = number(betas.toTupleRef().elements()[1], "betas", source);
  opt.eps = number(member(group, "eps", source), "eps", source);
  opt.weight_decay = number(member(group, "weight_decay", source), "weight_decay", source);

  const auto& state_v = member(top, "state", source);
  if (!state_v.isGenericDict()) throw input_error(source, "optimizer state: 'state' is not a dict");
  std::vector<ParamState> fresh(params_.size());
  for (const auto& kv : state_v.toGenericDict()) {
    if (!kv.key().isInt()) throw input_error(source, "optimizer state: a state key is not an integer");
    int64_t i = kv.key().toInt();
    if (i < 0 || i >= static_cast<int64_t>(params_.size()))
      throw input_error(source, "optimizer state: parameter index " + std::to_string(i) + " out of range");
    if (!kv.value().isGenericDict()) throw input_error(source, "optimizer state: entry is not a dict");
    auto s = kv.value().toGenericDict();
    auto tensor = [&](const std::string& key) {
      const auto& v = member(s, key, source);
      if (!v.isTensor()) throw input_error(source, "optimizer state: '" + key + "' is not a tensor");
      auto t = v.toTensor();
      if (t.sizes() != params_[i].sizes())
        throw input_error(source, "optimizer state of parameter " + std::to_string(i) + ": '" + key +
                                      "' has shape " + c10::str(t.sizes()) + ", the parameter " +
                                      c10::str(params_[i].sizes()));
      return t.to(params_[i].device(), params_[i].scalar_type()).clone();
    };
    auto& st = fresh[i];
    const auto& step = member(s, "step", source);
    double step_value = step.isTensor() ? step.toTensor().item<double>() : number(step, "step", source);
    st.step = static_cast<float>(step_value);  // torch 1.13 keeps it as a float32 tensor
    st.exp_avg = tensor("exp_avg");
    st.exp_avg_sq = tensor("exp_avg_sq");
    st.initialized = true;
  }
  state_ = std::move(fresh);
  options_ = opt;
}

}  // namespace biggan
