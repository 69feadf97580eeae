// Differentiable augmentation (DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for
// Data-Efficient GAN Training"), as the authors' BigGAN-PyTorch fork applies it (--DiffAugment
// POLICY): every image D sees, real or generated, in the D step and in the G step, goes through the
// same random, differentiable transforms, so D cannot memorise a small data set and G still gets
// gradients through the augmentation. The known remedy for GANs on small data sets.
//
// POLICY: a comma-separated list of
//   color        random brightness (+U[-0.5, 0.5)), saturation (x U[0, 2)), contrast (x U[0.5, 1.5))
//   translation  a random shift of up to 1/8 of the size, zero fill
//   cutout       a zeroed square of half the size at a random place
// The draws (torch::rand / torch::randint on the default generator, in the authors' order) are
// those of DiffAugment_pytorch.py, so the same seed gives the same augmented images.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace biggan {

// The policy's parts in order; "" is no augmentation. An unknown part is a biggan::Error naming it.
std::vector<std::string> parse_diff_augment_policy(const std::string& policy);

// Which rows of a larger batch x holds, when the batch is split over processes (distributed
// training): every draw is made for all `global` images, in the same order as one process would,
// and only `rows` kept, so N ranks augment their shares exactly as one process augments the whole.
// global == 0: x is the whole batch.
struct AugmentRows {
  int64_t global = 0;
  torch::Tensor rows;  // int64 [x.size(0)]
  // The rows [start, start + count) of each range, in order.
  static AugmentRows of(int64_t global, const std::vector<std::pair<int64_t, int64_t>>& ranges);
};

// x: [N, C, H, W] float. Returns x augmented by `policy` (x itself when the policy is empty).
torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy,
                           const AugmentRows& rows = {});

}  // namespace biggan
