#include "libbiggan/models/folded_resample.h"

#include <torch/torch.h>

#include "libbiggan/models/autocast.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/shape_text.h"

namespace biggan {
namespace {

void check_3x3(const torch::Tensor& w) {
  if (w.dim() != 4 || w.size(2) != 3 || w.size(3) != 3)
    throw Error("folded resampling needs a 3x3 convolution kernel [out, in, 3, 3], got " +
                shape_text(w.sizes().vec()));
}

// Along kernel axis `dim` (2 or 3), the 4 taps that are sums of the 3 original ones, as listed in
// `sums` (original tap indices per new tap), times `scale`. Slices and adds: a batched 4x3 matrix
// product over every channel pair costs ~30x more on the CPU (measured: 6 ms for 128x128 channels).
torch::Tensor expand_axis(const torch::Tensor& w, int64_t dim, const std::vector<std::vector<int64_t>>& sums,
                          double scale) {
  std::vector<torch::Tensor> taps;
  for (const auto& terms : sums) {
    auto tap = w.narrow(dim, terms[0], 1);
    for (size_t i = 1; i < terms.size(); ++i) tap = tap + w.narrow(dim, terms[i], 1);
    taps.push_back(scale == 1.0 ? tap : tap * scale);
  }
  return torch::cat(taps, dim);
}

// The 3x3 kernel w expanded to 4x4 along both axes, the sums formed in float32 even under
// autocast (the convolution then rounds them once); the result has w's type.
torch::Tensor expand_kernel(const torch::Tensor& w, const std::vector<std::vector<int64_t>>& sums, double scale) {
  Fp32Scope fp32;
  const auto w32 = w.to(torch::kFloat);
  return expand_axis(expand_axis(w32, 2, sums, scale), 3, sums, scale).to(w.scalar_type());
}

}  // namespace

torch::Tensor conv3x3_of_upsampled(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  check_3x3(w);
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3), O = w.size(0), C = w.size(1);
  // Along each axis: phase 0's taps at offsets -1, 0 ([w0], [w1+w2]), then phase 1's at 0, +1
  // ([w0+w1], [w2]). The 4x4 result, indexed [o, c, (r, t), (s, u)], regrouped to 4*O kernels of
  // 2x2 [(r, s, o), c, t, u].
  const auto K = expand_kernel(w, {{0}, {1, 2}, {0, 1}, {2}}, 1.0)
                     .view({O, C, 2, 2, 2, 2})
                     .permute({2, 4, 0, 1, 3, 5})
                     .reshape({4 * O, C, 2, 2});
  // Padding 1 on every side: Y[(r, s, o), i, j] sees x rows i-1, i and columns j-1, j, so phase
  // (r, s)'s output for low-resolution pixel (p, q) is Y[(r, s, o), p + r, q + s].
  auto Y = torch::conv2d(x, K, b.defined() ? b.repeat({4}) : b, /*stride=*/1, /*padding=*/1);
  Y = Y.view({N, 2, 2, O, H + 1, W + 1});
  // Written phase by phase into [N, O, H, 2, W, 2] (in the input's memory format), which is the
  // upsampled image [N, O, 2H, 2W] as a view.
  const bool channels_last = x.suggest_memory_format() == torch::MemoryFormat::ChannelsLast;
  auto out = channels_last ? torch::empty({N, H, 2, W, 2, O}, Y.options()).permute({0, 5, 1, 2, 3, 4})
                           : torch::empty({N, O, H, 2, W, 2}, Y.options());
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t s = 0; s < 2; ++s)
      out.select(5, s).select(3, r).copy_(Y.select(2, s).select(1, r).slice(2, r, r + H).slice(3, s, s + W));
  return out.view({N, O, 2 * H, 2 * W});
}

torch::Tensor avgpool_of_conv3x3(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  check_3x3(w);
  const auto K = expand_kernel(w, {{0}, {0, 1}, {1, 2}, {2}}, 0.5);
  return torch::conv2d(x, K, b, /*stride=*/2, /*padding=*/1);
}

}  // namespace biggan
