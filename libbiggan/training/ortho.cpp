#include "libbiggan/training/ortho.h"

namespace biggan {

void add_ortho_gradient(const std::vector<torch::Tensor>& params, double strength,
                        const std::vector<torch::Tensor>& exempt) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (p.dim() < 2) continue;
    bool skip = false;
    for (const auto& e : exempt) skip = skip || e.is_same(p);
    if (skip || !p.grad().defined()) continue;
    auto w = p.view({p.size(0), -1});
    auto off_diagonal = 1. - torch::eye(w.size(0), w.options());
    auto grad = 2 * torch::mm(torch::mm(w, w.t()) * off_diagonal, w);
    p.mutable_grad().add_(strength * grad.view(p.sizes()));
  }
}

}  // namespace biggan
