// Mean and covariance of feature vectors, accumulated in float64 one batch at a time (Chan et al.'s
// pairwise update: block means and centred scatter matrices merged exactly), so that moments of a
// whole data set never need the N×d feature matrix in memory.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace biggan::metrics {

struct Moments {
  torch::Tensor mu;     // [d] float64
  torch::Tensor sigma;  // [d, d] float64, unbiased (ddof = 1, as np.cov)
  bool random_weights = false;  // made by a network with random weights (a smoke test's file)
};

class MomentsAccumulator {
 public:
  // Rows are buffered up to `block_rows` before a merge, which keeps the merges GEMM-sized.
  explicit MomentsAccumulator(int64_t block_rows = 1024) : block_rows_(block_rows) {}
  // features: [n, d] of any floating dtype and device; d is fixed by the first call.
  void add(const torch::Tensor& features);
  int64_t count() const { return count_ + buffered_; }
  int64_t dim() const { return dim_; }
  // The moments so far (needs at least 2 rows).
  Moments moments();

 private:
  void flush();
  int64_t block_rows_;
  int64_t dim_ = -1, count_ = 0, buffered_ = 0;
  torch::Tensor buffer_;  // [block_rows, d] float64
  torch::Tensor mean_;    // [d]
  torch::Tensor scatter_; // [d, d]: Σ (x - mean)(x - mean)ᵀ
};

// Moments of a whole feature matrix directly (np.mean / np.cov in float64).
Moments moments_of(const torch::Tensor& features);

// Merging the moments of parts of one set (Chan et al.): the whole mean is the parts' means weighted
// by their rows; a part of n rows adds (n - 1)·sigma + n (mu_part - mu)(mu_part - mu)ᵀ around the
// whole mean `mu` to the whole scatter matrix (part_scatter), which over N rows is the covariance
// times N - 1. merge_moments does it for parts in memory; a test run over several processes sums
// the same terms with all-reduces (training/evaluator.cpp).
torch::Tensor part_scatter(const Moments& part, int64_t n, const torch::Tensor& mu);
Moments merge_moments(const std::vector<Moments>& parts, const std::vector<int64_t>& rows);

}  // namespace biggan::metrics
