// The Inception Score as BigGAN-PyTorch computes it (inception_utils.calculate_inception_score):
// the N class-probability rows split into `splits` consecutive chunks of N // splits rows (the
// remainder is dropped), IS_k = exp(mean_i KL(p_i || mean_j p_j)) per chunk; the mean and the
// population standard deviation (np.std) of the IS_k. Computed in float64; 0·log 0 counts as 0.
#pragma once
#include <torch/torch.h>

namespace biggan::metrics {

struct InceptionScore {
  double mean = 0, std = 0;
  int splits = 0;
};

// probs: [N, classes], rows summing to 1 (softmax of the logits). Needs N >= splits.
InceptionScore inception_score(const torch::Tensor& probs, int splits = 10);

}  // namespace biggan::metrics
