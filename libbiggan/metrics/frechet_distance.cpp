#include "libbiggan/metrics/frechet_distance.h"

#include <sstream>

#include "libbiggan/util/error.h"

namespace biggan::metrics {
namespace {

torch::Tensor symmetric(const torch::Tensor& s) { return (s + s.t()) * 0.5; }

// Cholesky factor of a covariance, or an undefined tensor when it is not positive definite.
// `rel_pivot` receives min(pivot²)/max(diag): a small value means (numerically) singular.
torch::Tensor try_cholesky(const torch::Tensor& s, double& rel_pivot) {
  auto [L, info] = torch::linalg_cholesky_ex(s);
  if (info.item<int64_t>() != 0) {
    rel_pivot = 0;
    return {};
  }
  auto piv = L.diagonal().square();
  rel_pivot = (piv.min() / s.diagonal().max()).item<double>();
  return L;
}

// A covariance has no negative eigenvalues; rounding leaves a few of about -1e-12 relative. A clearly
// negative one (a file that holds something else) would make the FID negative or meaningless.
void require_positive_semidefinite(const torch::Tensor& eigenvalues, int which) {
  const double lo = eigenvalues.min().item<double>(), hi = eigenvalues.abs().max().item<double>();
  if (lo < -1e-6 * hi) {
    std::ostringstream m;
    m << "FID: covariance " << which << " is not positive semi-definite (smallest eigenvalue " << lo << ", largest |"
      << hi << "|): it is not a covariance matrix";
    throw Error(m.str());
  }
}

}  // namespace

FrechetResult frechet_distance(const torch::Tensor& mu1_in, const torch::Tensor& sigma1_in,
                               const torch::Tensor& mu2_in, const torch::Tensor& sigma2_in) {
  auto dev = sigma1_in.device();
  auto f64 = [&](const torch::Tensor& t) { return t.to(dev, torch::kFloat64); };
  auto mu1 = f64(mu1_in).flatten(), mu2 = f64(mu2_in).flatten();
  auto s1 = f64(sigma1_in), s2 = f64(sigma2_in);
  const int64_t d = mu1.numel();
  if (mu2.numel() != d)
    throw Error("FID: the mean vectors have different lengths (" + std::to_string(d) + " and " +
                std::to_string(mu2.numel()) + ")");
  for (auto* s : {&s1, &s2})
    if (s->dim() != 2 || s->size(0) != d || s->size(1) != d)
      throw Error("FID: a covariance is not " + std::to_string(d) + "×" + std::to_string(d) +
                  " (it does not match its mean vector)");
  if (!torch::isfinite(s1).all().item<bool>() || !torch::isfinite(s2).all().item<bool>() ||
      !torch::isfinite(mu1).all().item<bool>() || !torch::isfinite(mu2).all().item<bool>())
    throw Error("FID: the moments contain NaN or infinity");
  s1 = symmetric(s1);
  s2 = symmetric(s2);

  FrechetResult r;
  torch::NoGradGuard ng;
  auto L1 = try_cholesky(s1, r.min_rel_eig1);
  auto L2 = try_cholesky(s2, r.min_rel_eig2);
  // Cholesky succeeding proves positive definiteness; only a failed one needs the eigenvalues.
  if (!L1.defined()) require_positive_semidefinite(torch::linalg_eigvalsh(s1), 1);
  if (!L2.defined()) require_positive_semidefinite(torch::linalg_eigvalsh(s2), 2);
  torch::Tensor ev;
  if (L1.defined()) {
    // S1 = L Lᵀ: Lᵀ S2 L is similar to S1 S2 and symmetric PSD.
    ev = torch::linalg_eigvalsh(symmetric(torch::matmul(torch::matmul(L1.t(), s2), L1)));
  } else if (L2.defined()) {
    ev = torch::linalg_eigvalsh(symmetric(torch::matmul(torch::matmul(L2.t(), s1), L2)));
  } else {
    // Both singular: S1^½ from its eigendecomposition (negative rounding noise clipped to 0).
    auto [w, V] = torch::linalg_eigh(s1);
    auto root = torch::matmul(V * w.clamp_min(0).sqrt().unsqueeze(0), V.t());
    ev = torch::linalg_eigvalsh(symmetric(torch::matmul(torch::matmul(root, s2), root)));
  }
  r.trace_sqrt = ev.clamp_min(0).sqrt().sum().item<double>();
  auto diff = mu1 - mu2;
  r.mean_term = diff.dot(diff).item<double>();
  r.trace_term = (s1.trace() + s2.trace()).item<double>() - 2 * r.trace_sqrt;
  r.fid = r.mean_term + r.trace_term;

  const double kSingular = 1e-12;
  std::ostringstream w;
  for (int i = 0; i < 2; ++i) {
    double rel = i == 0 ? r.min_rel_eig1 : r.min_rel_eig2;
    if (rel < kSingular) {
      r.singular = true;
      if (!w.str().empty()) w << "; ";
      w << "covariance " << (i + 1) << " is singular (rank-deficient: fewer samples than the "
        << d << " feature dimensions?)";
    }
  }
  if (r.singular) {
    w << "; the FID is still computed exactly, but it is biased at this sample count";
    r.warning = w.str();
  }
  return r;
}

}  // namespace biggan::metrics
