// BigGAN's modified orthogonal regularisation, applied directly as a gradient (utils.ortho):
// for every parameter with >= 2 dims, grad += strength * 2 (W W^T ⊙ (1 - I)) W, W = param.view(rows, -1).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace biggan {

// `exempt` lists parameters to skip (the reference exempts G's shared class embedding).
// Parameters without a gradient are an error in the reference; here they are skipped.
void add_ortho_gradient(const std::vector<torch::Tensor>& params, double strength,
                        const std::vector<torch::Tensor>& exempt = {});

}  // namespace biggan
