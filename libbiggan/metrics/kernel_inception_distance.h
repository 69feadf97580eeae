// The Kernel Inception Distance (Bińkowski et al. 2018): the unbiased estimate of the squared MMD
// between two feature sets with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over
// random subsets (the literature's 100 subsets of 1000; smaller subsets when there are fewer features).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace biggan::metrics {

struct KidResult {
  double mean = 0, std = 0;  // over subsets; std is the population std (ddof = 0)
  int subsets = 0;
  int64_t subset_size = 0;
};

// Unbiased MMD² of x [m, d] and y [n, d] with the cubic polynomial kernel, in float64.
double polynomial_mmd2_unbiased(const torch::Tensor& x, const torch::Tensor& y);

// subset_size is capped at min(N1, N2); each subset draws without replacement from a generator
// seeded with `seed`, so a result is reproducible.
KidResult kernel_inception_distance(const torch::Tensor& f1, const torch::Tensor& f2, int subsets = 100,
                                    int64_t subset_size = 1000, uint64_t seed = 0);

}  // namespace biggan::metrics
