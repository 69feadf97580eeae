// One iteration of the reference's GAN training function (train_fns.GAN_training_function):
// num_D_steps D updates, each accumulating num_D_accumulations chunks of the real batch, then one
// G update accumulating num_G_accumulations, with toggle_grads, split_D, ortho regularisation
// (G's shared embedding exempt) and the EMA update. With --DiffAugment, every image D sees goes
// through diff_augment first, as the DiffAugment authors' fork of the reference does.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libbiggan/training/gan.h"
#include "libbiggan/training/noise.h"
#include "libbiggan/training/precision.h"

namespace biggan {

struct StepLosses {
  // As the reference reports them: the last accumulation's values, G_loss already divided by
  // num_G_accumulations.
  double G_loss = 0, D_loss_real = 0, D_loss_fake = 0;
};

// This process's share of the step when `world` processes train together (training/distributed.h):
// as DataParallel splits the reference's batches, rank r takes rows [r*b, (r+1)*b) of every global
// chunk of batch_size (b = batch_size / world) and of every noise draw; `average_gradients` makes
// the parameters' gradients the mean over ranks before each optimiser step (and before ortho).
struct StepShard {
  int64_t rank = 0, world = 1;
  std::function<void(const std::vector<torch::Tensor>& params)> average_gradients;
};

class TrainStep {
 public:
  // z_ / y_ buffers of G_batch_size = max(G_batch_size, batch_size) rows, as prepare_z_y makes
  // (the global batch's: every rank draws all of it, so the generator moves alike everywhere).
  // `precision` (may be null: float32) is the run's --amp: G's and D's forward passes under autocast,
  // losses and backward from float32 outputs, and with fp16 loss-scaled optimiser steps.
  TrainStep(Gan& gan, std::shared_ptr<NoiseSource> noise, StepShard shard = {},
            MixedPrecision* precision = nullptr);
  // x: batch_size * num_D_steps * num_D_accumulations real images (fewer is allowed at an epoch's
  // end, as torch.split gives), y their labels; itr: the iteration number (state_dict['itr']).
  // With a shard of world > 1, x holds this rank's rows only (batch_size / world per chunk).
  StepLosses run(const torch::Tensor& x, const torch::Tensor& y, int64_t itr);

  torch::Tensor& z() { return z_; }
  torch::Tensor& y() { return y_; }

 private:
  void D_steps(const std::vector<torch::Tensor>& xs, const std::vector<torch::Tensor>& ys, int64_t itr,
               StepLosses& out);
  void G_step(int64_t itr, StepLosses& out);
  // Backward of `loss` (scaled under fp16 amp).
  void backward(const torch::Tensor& loss, GradScaler* scaler);
  // Ortho regularisation and the optimiser step; under fp16 amp first unscaled and checked, and
  // skipped (the scale backed off, the skip logged) when a gradient is not finite.
  void optimiser_step(Adam& optim, const std::vector<torch::Tensor>& params, double ortho,
                      const std::vector<torch::Tensor>& ortho_exempt, GradScaler* scaler, int64_t itr);

  Gan& gan_;
  std::shared_ptr<NoiseSource> noise_;
  StepShard shard_;
  MixedPrecision* precision_;
  torch::Device device_ = torch::kCPU;
  torch::ScalarType amp_dtype_ = torch::kFloat;  // kFloat: autocast off
  torch::Tensor z_, y_;
  std::vector<std::string> augment_;  // the DiffAugment policy, parsed once
};

// Sets requires_grad of every parameter (utils.toggle_grad).
void toggle_grad(const std::vector<torch::Tensor>& params, bool on);

}  // namespace biggan
