// The exponential moving average of G (utils.ema): every parameter and buffer of the target
// follows the source; before `start_itr` the target is pegged to the source (decay 0).
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

 private:
  std::vector<std::pair<torch::Tensor, torch::Tensor>> pairs_;  // (source, target)
  double decay_;
  int64_t start_itr_;
};

}  // namespace biggan
