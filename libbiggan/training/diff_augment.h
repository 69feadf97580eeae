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

#include <string>
#include <vector>

namespace biggan {

// The policy's parts in order; "" is no augmentation. An unknown part is a biggan::Error naming it.
std::vector<std::string> parse_diff_augment_policy(const std::string& policy);

// x: [N, C, H, W] float. Returns x augmented by `policy` (x itself when the policy is empty).
torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy);

}  // namespace biggan
