// The reference's GAN losses (losses.py): hinge by default, DCGAN (softplus) optionally.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>

namespace biggan {

enum class LossKind { Hinge, DCGAN };

LossKind parse_loss_kind(const std::string& name);  // "hinge" | "dcgan"

// (loss on real, loss on fake), each a mean over the batch.
std::pair<torch::Tensor, torch::Tensor> discriminator_loss(LossKind kind, const torch::Tensor& d_fake,
                                                           const torch::Tensor& d_real);
torch::Tensor generator_loss(LossKind kind, const torch::Tensor& d_fake);

}  // namespace biggan
