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

torch::Tensor part_scatter(const Moments& part, int64_t n, const torch::Tensor& mu) {
  auto d = (part.mu.to(torch::kFloat64).cpu() - mu.to(torch::kFloat64).cpu()).unsqueeze(1);
  return part.sigma.to(torch::kFloat64).cpu() * static_cast<double>(n - 1) + static_cast<double>(n) * d.matmul(d.t());
}

Moments merge_moments(const std::vector<Moments>& parts, const std::vector<int64_t>& rows) {
  if (parts.empty() || parts.size() != rows.size()) throw Error("merge_moments: one row count per part is needed");
  int64_t total = 0;
  torch::Tensor weighted;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto w = parts[i].mu.to(torch::kFloat64).cpu() * static_cast<double>(rows[i]);
    weighted = weighted.defined() ? weighted + w : w;
    total += rows[i];
  }
  if (total < 2) throw Error("merge_moments: fewer than 2 rows in all");
  const auto mu = weighted / static_cast<double>(total);
  torch::Tensor scatter;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto s = part_scatter(parts[i], rows[i], mu);
    scatter = scatter.defined() ? scatter + s : s;
  }
  return {mu, scatter / static_cast<double>(total - 1), parts[0].random_weights};
}

}  // namespace biggan::metrics
