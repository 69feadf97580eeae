#include "libbiggan/metrics/inception_score.h"

#include <cmath>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

InceptionScore inception_score(const torch::Tensor& probs, int splits) {
  if (probs.dim() != 2) throw Error("Inception Score: probabilities must be [N, classes]");
  if (splits < 1 || probs.size(0) < splits)
    throw Error("Inception Score: " + std::to_string(probs.size(0)) + " samples cannot make " +
                std::to_string(splits) + " splits");
  auto p = probs.to(torch::kCPU, torch::kFloat64);
  const int64_t chunk = p.size(0) / splits;
  std::vector<double> scores;
  for (int k = 0; k < splits; ++k) {
    auto part = p.narrow(0, k * chunk, chunk);
    auto marginal = part.mean(0, /*keepdim=*/true);
    // p (log p - log q), with 0 log 0 = 0.
    auto kl = torch::xlogy(part, part) - part * torch::log(marginal);
    scores.push_back(std::exp(kl.sum(1).mean().item<double>()));
  }
  InceptionScore r;
  r.splits = splits;
  for (double s : scores) r.mean += s;
  r.mean /= splits;
  for (double s : scores) r.std += (s - r.mean) * (s - r.mean);
  r.std = std::sqrt(r.std / splits);
  return r;
}

}  // namespace biggan::metrics
