#include "libbiggan/training/ema.h"

#include "libbiggan/training/flat_buffer.h"
#include "libbiggan/util/error.h"

namespace biggan {

Ema::Ema(torch::nn::Module& source, torch::nn::Module& target, double decay, int64_t start_itr,
         bool copy_now)
    : decay_(decay), start_itr_(start_itr) {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> params, buffers;
  auto add = [&](const torch::OrderedDict<std::string, torch::Tensor>& src,
                 const torch::OrderedDict<std::string, torch::Tensor>& dst, auto& into) {
    for (const auto& kv : src) {
      const torch::Tensor* t = dst.find(kv.key());
      if (!t) throw Error("EMA: the target model has no '" + kv.key() + "'");
      into.emplace_back(kv.value(), *t);
    }
  };
  add(source.named_parameters(true), target.named_parameters(true), params);
  add(source.named_buffers(true), target.named_buffers(true), buffers);
  torch::NoGradGuard no_grad;
  if (copy_now)
    for (auto* group : {&params, &buffers})
      for (auto& [s, t] : *group) t.copy_(s);

  // Gatherable: floating, dense, of the first tensor's dtype and device on both sides. The order of
  // the updates does not matter (each pair is independent), so these go first: parameters, then
  // buffers, then the rest (e.g. BatchNorm's int64 num_batches_tracked, updated as before).
  const auto* first = params.empty() ? (buffers.empty() ? nullptr : &buffers[0]) : &params[0];
  auto gatherable = [&](const std::pair<torch::Tensor, torch::Tensor>& p) {
    const auto& [s, t] = p;
    return first && s.is_floating_point() && s.scalar_type() == first->first.scalar_type() &&
           t.scalar_type() == s.scalar_type() && s.device() == first->first.device() &&
           t.device() == s.device() && s.is_contiguous() && t.is_contiguous();
  };
  std::vector<std::pair<torch::Tensor, torch::Tensor>> rest;
  std::vector<torch::Tensor> targets, source_buffers;
  for (auto* group : {&params, &buffers})
    for (auto& p : *group) {
      if (!gatherable(p)) {
        rest.push_back(p);
        continue;
      }
      pairs_.push_back(p);
      targets.push_back(p.second);
      if (group == &buffers) source_buffers.push_back(p.first);
    }
  pairs_.insert(pairs_.end(), rest.begin(), rest.end());
  // The source's parameters are its optimiser's to place (Adam's flat buffer); its buffers and all
  // of the target are the EMA's.
  gather_into_one_buffer(targets);
  gather_into_one_buffer(source_buffers);
}

bool Ema::spans_current() const {
  if (span_basis_.size() != pairs_.size()) return false;
  for (size_t k = 0; k < pairs_.size(); ++k)
    if (pairs_[k].first.data_ptr() != span_basis_[k].first || pairs_[k].second.data_ptr() != span_basis_[k].second)
      return false;
  return true;
}

void Ema::make_spans() {
  spans_.clear();
  span_basis_.clear();
  for (size_t k = 0; k < pairs_.size();) {
    size_t end = k + 1;
    int64_t numel = pairs_[k].first.numel();
    while (end < pairs_.size() && pairs_[k].first.is_floating_point() &&
           follows(pairs_[end - 1].first, pairs_[end].first) && follows(pairs_[end - 1].second, pairs_[end].second)) {
      numel += pairs_[end].first.numel();
      ++end;
    }
    if (end == k + 1)
      spans_.push_back(pairs_[k]);
    else
      spans_.emplace_back(span_from(pairs_[k].first, numel), span_from(pairs_[k].second, numel));
    k = end;
  }
  for (const auto& [s, t] : pairs_) span_basis_.emplace_back(s.data_ptr(), t.data_ptr());
}

void Ema::update(int64_t itr) {
  const double decay = (itr != 0 && itr < start_itr_) ? 0.0 : decay_;
  torch::NoGradGuard no_grad;
  if (!spans_current()) make_spans();
  for (auto& [s, t] : spans_) t.copy_(t * decay + s * (1 - decay));
}

}  // namespace biggan
