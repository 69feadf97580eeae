// Scores that compare the real and generated feature sets as manifolds made of k-nearest-neighbour
// balls, rather than as Gaussians (FID) or kernel means (KID):
// - improved precision and recall (Kynkäänniemi et al. 2019): precision is the share of fake features
//   inside some real feature's k-NN ball (the ball's radius: the distance to its k-th nearest other
//   real feature), recall the share of real features inside some fake feature's ball (k = 3);
// - density and coverage (Naeem et al. 2020): density counts, for each fake feature, the real balls
//   holding it, divided by k and averaged; coverage is the share of real features whose own ball
//   holds at least one fake feature (k = 5).
// Inside a ball means distance <= radius for precision / recall (Kynkäänniemi et al.'s code, as
// stylegan2-ada), distance < radius for density / coverage (Naeem et al.'s prdc code).
//
// Distances are Euclidean, compared squared, computed in float64 one block of rows at a time (at most
// about kManifoldBlockElements distances in memory), so 50k × 50k sets never build an N×N matrix. A
// block comes from one GEMM (‖a‖² + ‖b‖² − 2abᵀ), whose rounding depends on which set is the rows;
// every distance within that rounding of the radius it is compared with (and every radius) is
// recomputed coordinate by coordinate, which gives d(a, b) = d(b, a) exactly, so that ties (identical
// sets, duplicates) are decided the same way whichever pass meets them.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace biggan::metrics {

inline constexpr int kPrecisionRecallK = 3;
inline constexpr int kDensityCoverageK = 5;
// Distances per block (16 MiB of float64; a few such tensors live at once).
inline constexpr int64_t kManifoldBlockElements = int64_t(1) << 21;

struct PrecisionRecall {
  double precision = 0, recall = 0;
  int k = kPrecisionRecallK;
};

struct DensityCoverage {
  double density = 0, coverage = 0;
  int k = kDensityCoverageK;
};

// For each row of `features` [N, d] the squared distance to its k-th nearest other row (float64
// [N]). N must exceed k. `block_rows` > 0 forces the rows per block (tests); 0: from the budget.
torch::Tensor knn_squared_radii(const torch::Tensor& features, int k, int64_t block_rows = 0);
// The same, not squared.
torch::Tensor knn_radii(const torch::Tensor& features, int k, int64_t block_rows = 0);

// real [N, d] and fake [M, d] features (any float dtype, on the CPU or not); both N and M must exceed
// k. `real_squared_radii` (knn_squared_radii(real, k)), when given, saves recomputing them for a
// fixed reference.
PrecisionRecall precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int k = kPrecisionRecallK,
                                 const torch::Tensor& real_squared_radii = {}, int64_t block_rows = 0);
DensityCoverage density_coverage(const torch::Tensor& real, const torch::Tensor& fake, int k = kDensityCoverageK,
                                 const torch::Tensor& real_squared_radii = {}, int64_t block_rows = 0);

}  // namespace biggan::metrics
