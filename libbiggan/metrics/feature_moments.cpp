#include "libbiggan/metrics/feature_moments.h"

#include "libbiggan/util/error.h"

namespace biggan::metrics {

void MomentsAccumulator::add(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2, "MomentsAccumulator: features must be [n, d], got ", features.sizes());
  if (dim_ < 0) {
    dim_ = features.size(1);
    buffer_ = torch::empty({block_rows_, dim_}, torch::kFloat64);
    mean_ = torch::zeros({dim_}, torch::kFloat64);
    scatter_ = torch::zeros({dim_, dim_}, torch::kFloat64);
  }
  if (features.size(1) != dim_)
    throw Error("features of dimension " + std::to_string(features.size(1)) + " after " + std::to_string(dim_));
  auto f = features.to(torch::kCPU, torch::kFloat64);
  int64_t row = 0;
  while (row < f.size(0)) {
    int64_t take = std::min(f.size(0) - row, block_rows_ - buffered_);
    buffer_.narrow(0, buffered_, take).copy_(f.narrow(0, row, take));
    buffered_ += take;
    row += take;
    if (buffered_ == block_rows_) flush();
  }
}

void MomentsAccumulator::flush() {
  if (buffered_ == 0) return;
  auto block = buffer_.narrow(0, 0, buffered_);
  auto block_mean = block.mean(0);
  auto centred = block - block_mean;
  auto block_scatter = torch::matmul(centred.t(), centred);
  const double n = static_cast<double>(count_), m = static_cast<double>(buffered_);
  if (count_ == 0) {
    mean_.copy_(block_mean);
    scatter_.copy_(block_scatter);
  } else {
    // Chan et al.: merging two groups adds the outer product of the mean shift, weighted n·m/(n+m).
    auto delta = block_mean - mean_;
    scatter_ += block_scatter;
    scatter_.addr_(delta, delta, 1.0, n * m / (n + m));
    mean_ += delta * (m / (n + m));
  }
  count_ += buffered_;
  buffered_ = 0;
}

Moments MomentsAccumulator::moments() {
  flush();
  if (count_ < 2) throw Error("moments need at least 2 feature vectors, got " + std::to_string(count_));
  return {mean_.clone(), scatter_ / static_cast<double>(count_ - 1)};
}

Moments moments_of(const torch::Tensor& features) {
  auto f = features.to(torch::kFloat64);
  auto mu = f.mean(0);
  auto c = f - mu;
  return {mu, torch::matmul(c.t(), c) / static_cast<double>(f.size(0) - 1)};
}

}  // namespace biggan::metrics
