// Folding the 2x resampling of BigGAN's blocks into the adjacent 3x3 convolution (ours,
// ModelConfig::fold_resample). Along one axis:
//  - nearest 2x upsampling, then a 3-tap kernel [w0 w1 w2] with padding 1, gives output 2p from
//    x[p-1]*w0 + x[p]*(w1+w2) and output 2p+1 from x[p]*(w0+w1) + x[p+1]*w2: two 2-tap kernels,
//    one per output phase, on the low-resolution input. In 2-D: four phase kernels of 2x2, run as
//    one convolution with 4x the outputs, then interleaved. (The same thing is a transposed
//    convolution, stride 2, kernel 4; LibTorch 1.13's CPU autocast leaves that in float32 and its
//    bf16 kernel returns the wrong size, so it is not used.)
//  - a 3-tap kernel with padding 1, then 2-wide average pooling, is a convolution with stride 2,
//    padding 1 and the 4-tap kernel [w0, w0+w1, w1+w2, w2] / 2 (4x4 in 2-D).
// Either way the work moves to the low-resolution side: 16 taps per low-resolution pixel instead
// of 9 per each of four high-resolution pixels, 2.25x fewer multiply-adds, forward and backward.
// The result is the reference's up to float rounding (the tap sums round), so it is a choice.
// BigGAN-deep's D pools after a ReLU, so it has nothing to fold; its G does.
#pragma once
#include <torch/types.h>

namespace biggan {

// conv2d(upsample_nearest_2x(x), w, b, padding 1) for a 3x3 kernel w [out, in, 3, 3].
torch::Tensor conv3x3_of_upsampled(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// avg_pool2d(conv2d(x, w, b, padding 1), 2) for a 3x3 kernel w [out, in, 3, 3].
torch::Tensor avgpool_of_conv3x3(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace biggan
