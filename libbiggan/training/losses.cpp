#include "libbiggan/training/losses.h"

#include "libbiggan/util/error.h"

namespace biggan {

LossKind parse_loss_kind(const std::string& name) {
  if (name == "hinge") return LossKind::Hinge;
  if (name == "dcgan") return LossKind::DCGAN;
  throw Error("unknown loss '" + name + "' (expected hinge or dcgan)");
}

std::pair<torch::Tensor, torch::Tensor> discriminator_loss(LossKind kind, const torch::Tensor& d_fake,
                                                           const torch::Tensor& d_real) {
  if (kind == LossKind::DCGAN)
    return {torch::softplus(-d_real).mean(), torch::softplus(d_fake).mean()};
  return {torch::relu(1. - d_real).mean(), torch::relu(1. + d_fake).mean()};
}

torch::Tensor generator_loss(LossKind kind, const torch::Tensor& d_fake) {
  if (kind == LossKind::DCGAN) return torch::softplus(-d_fake).mean();
  return -d_fake.mean();
}

}  // namespace biggan
