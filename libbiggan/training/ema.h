// The exponential moving average of G (utils.ema): every parameter and buffer of the target
// follows the source; before `start_itr` the target is pegged to the source (decay 0).
//
// Speed, not arithmetic: the update is element-wise, so tensors that lie end to end in one buffer
// are updated as one (4 tensor ops instead of 4 per tensor, bit for bit the same numbers). The EMA
// moves the target's floating tensors, and the source's floating buffers, into one buffer each (the
// modules keep their tensors, now views); the source's parameters lie end to end once G's Adam has
// its flat buffer. Whatever replaces a tensor's storage later is seen at the next update.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace biggan {

class Ema {
 public:
  // Pairs source and target tensors by name (parameters and buffers); copies source into target
  // unless `copy_now` is false (when resuming, G_ema comes from its own file).
  Ema(torch::nn::Module& source, torch::nn::Module& target, double decay, int64_t start_itr,
      bool copy_now = true);
  // target = target * decay + source * (1 - decay), with decay 0 while 0 < itr < start_itr.
  void update(int64_t itr);
  // How many (source, target) spans the last update() took: 1 per run of adjacent tensors.
  size_t spans() const { return spans_.size(); }

 private:
  void make_spans();
  bool spans_current() const;

  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;  // (source, target), gatherable first
  std::vector<std::pair<torch::Tensor, torch::Tensor>> spans_;  // what update() computes on
  std::vector<std::pair<void*, void*>> span_basis_;             // pairs_' data pointers when made
  double decay_;
  int64_t start_itr_;
};

}  // namespace biggan
