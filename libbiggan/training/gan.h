// Everything one BigGAN training run holds: G, D, the EMA copy of G, both Adam optimisers and the
// run's config, built in the reference's order (train.py) so that, after the same seed, the
// initial weights are bit-identical to BigGAN-PyTorch's.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "libbiggan/models/model.h"
#include "libbiggan/training/adam.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/ema.h"
#include "libbiggan/training/losses.h"
#include "libbiggan/training/weights_folder.h"

namespace biggan {

struct Gan {
  Config config;
  Generator G{nullptr};
  Discriminator D{nullptr};
  Generator G_ema{nullptr};  // null unless config.ema
  std::unique_ptr<Adam> G_optim, D_optim;
  std::unique_ptr<Ema> ema;
  LossKind loss = LossKind::Hinge;

  // G, then D, then (with config.ema) G_ema built with skip_init and the EMA copy of G into it —
  // exactly the reference's construction and RNG order. The caller seeds torch's generator first.
  static Gan build(const Config& config);

  // Moves G, D and G_ema (and with them what the optimisers and the EMA hold) to `device`, as the
  // reference's .to(device) after construction: tensors keep their identity, only their data moves.
  void to(torch::Device device);

  // Parameters of G in order, of D in order (the optimisers' index order).
  std::vector<torch::Tensor> G_parameters() const;
  std::vector<torch::Tensor> D_parameters() const;

  // G / D / G_ema weights, both optimisers and `state`, as a BigGAN-PyTorch weights folder.
  WeightsFolderContents to_weights(const TrainState& state) const;
  // Loads a weights folder's parts into this Gan (strict key / shape checks naming the file).
  void load_weights(const WeightsFolderContents& w, const std::string& source);
};

}  // namespace biggan
