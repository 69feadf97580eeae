// The Fréchet distance between two Gaussians, d² = |mu1-mu2|² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½),
// computed exactly in float64: tr((S1 S2)^½) = Σ sqrt(λ_i) over the eigenvalues λ_i of the
// symmetric PSD matrix S1^½ S2 S1^½ (similar to S1 S2), so two symmetric eigendecompositions replace
// the general matrix square root (scipy's sqrtm) or the reference's Newton–Schulz iteration.
#pragma once
#include <torch/torch.h>

#include <string>

namespace biggan::metrics {

struct FrechetResult {
  double fid = 0;
  double mean_term = 0;      // |mu1 - mu2|²
  double trace_term = 0;     // tr(S1) + tr(S2) - 2 tr((S1 S2)^½)
  double trace_sqrt = 0;     // tr((S1 S2)^½)
  // Rank deficiency (e.g. fewer samples than feature dimensions): the smallest eigenvalue of each
  // covariance relative to its largest; a covariance is called singular below 1e-12.
  double min_rel_eig1 = 0, min_rel_eig2 = 0;
  bool singular = false;
  std::string warning;  // a human-readable note when singular (the answer is still exact)
};

// mu: [d], sigma: [d, d] (any floating dtype; computed in float64, on sigma's device).
// Throws biggan::Error when shapes disagree or a covariance is not finite.
FrechetResult frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                               const torch::Tensor& sigma2);

}  // namespace biggan::metrics
