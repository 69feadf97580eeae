#include "libbiggan/training/train_step.h"

#include "libbiggan/models/autocast.h"
#include "libbiggan/training/diff_augment.h"
#include "libbiggan/training/ortho.h"
#include "libbiggan/util/error.h"

namespace biggan {

void toggle_grad(const std::vector<torch::Tensor>& params, bool on) {
  for (auto p : params) p.set_requires_grad(on);
}

TrainStep::TrainStep(Gan& gan, std::shared_ptr<NoiseSource> noise, StepShard shard, MixedPrecision* precision)
    : gan_(gan), noise_(std::move(noise)), shard_(std::move(shard)), precision_(precision) {
  const auto& c = gan_.config;
  if (shard_.world < 1 || shard_.rank < 0 || shard_.rank >= shard_.world)
    throw Error("training step: rank " + std::to_string(shard_.rank) + " of " + std::to_string(shard_.world));
  if (c.batch_size % shard_.world != 0 || std::max(c.G_batch_size, c.batch_size) % shard_.world != 0)
    throw Error("--batch_size " + std::to_string(c.batch_size) + " (G batch " +
                std::to_string(std::max(c.G_batch_size, c.batch_size)) + ") does not split over " +
                std::to_string(shard_.world) + " processes: each takes an equal share of the global batch");
  const int64_t g_batch = std::max(c.G_batch_size, c.batch_size);
  // prepare_z_y: z_ starts as randn (drawing from the generator, which the reference does too),
  // y_ as zeros.
  // prepare_z_y draws z_ on the CPU and moves it to the model's device; the noise is then drawn there.
  const auto params = gan_.G->parameters();
  device_ = params.empty() ? torch::Device(torch::kCPU) : params[0].device();
  if (precision_ && precision_->on()) amp_dtype_ = precision_->dtype();
  z_ = torch::randn({g_batch, gan_.G->dim_z()}).to(device_);
  y_ = torch::zeros({g_batch}, torch::TensorOptions().dtype(torch::kInt64).device(device_));
  augment_ = parse_diff_augment_policy(c.DiffAugment);
}

StepLosses TrainStep::run(const torch::Tensor& x, const torch::Tensor& y, int64_t itr) {
  const auto& c = gan_.config;
  StepLosses out;
  gan_.G_optim->zero_grad();
  gan_.D_optim->zero_grad();
  const int64_t b = c.batch_size / shard_.world;  // this rank's share of each chunk
  auto xs = x.split(b);
  auto ys = y.split(b);
  const int64_t chunks_needed = c.num_D_steps * c.num_D_accumulations;
  if (static_cast<int64_t>(xs.size()) < chunks_needed)
    throw Error("training step: the real batch holds " + std::to_string(xs.size()) + " chunks of " +
                std::to_string(b) + ", the D steps need " + std::to_string(chunks_needed));
  D_steps(xs, ys, itr, out);
  G_step(itr, out);
  if (gan_.ema) gan_.ema->update(itr);
  return out;
}

void TrainStep::D_steps(const std::vector<torch::Tensor>& xs, const std::vector<torch::Tensor>& ys, int64_t itr,
                        StepLosses& out) {
  const auto& c = gan_.config;
  auto& G = *gan_.G;
  auto& D = *gan_.D;
  const auto G_params = gan_.G_parameters();
  const auto D_params = gan_.D_parameters();
  GradScaler* scaler = precision_ ? precision_->D_scaler.get() : nullptr;
  const int64_t b = c.batch_size / shard_.world;
  size_t counter = 0;
  if (c.toggle_grads) {
    toggle_grad(D_params, true);
    toggle_grad(G_params, false);
  }
  torch::Tensor last_real, last_fake;
  for (int64_t step_index = 0; step_index < c.num_D_steps; ++step_index) {
    gan_.D_optim->zero_grad();
    for (int64_t acc = 0; acc < c.num_D_accumulations; ++acc) {
      noise_->sample(z_, y_);
      auto z = z_.slice(0, shard_.rank * b, (shard_.rank + 1) * b);
      auto gy = y_.slice(0, shard_.rank * b, (shard_.rank + 1) * b);
      torch::Tensor D_fake, D_real;
      {
        AutocastScope autocast(device_, amp_dtype_);  // nothing under float32
        torch::Tensor G_z;
        {
          torch::NoGradGuard no_grad;  // G_D(train_G=False)
          G_z = G.forward(z, G.shared(gy));
        }
        // Over several ranks, DiffAugment draws for the global batch and keeps this rank's rows (a
        // chunk cut short at an epoch's end has no global layout: its draws are the rank's own).
        const bool global_rows = !augment_.empty() && shard_.world > 1 && xs[counter].size(0) == b;
        const int64_t B = c.batch_size, first = shard_.rank * b;
        if (c.split_D) {  // (the authors' fork has no split_D: here each half is augmented on its own)
          const AugmentRows rows = global_rows ? AugmentRows::of(B, {{first, b}}) : AugmentRows{};
          D_fake = D.forward(diff_augment(G_z, augment_, rows), gy);
          D_real = D.forward(diff_augment(xs[counter], augment_, rows), ys[counter]);
        } else {
          // One augmentation call over fake and real together, as the fork's G_D does.
          const AugmentRows rows = global_rows ? AugmentRows::of(2 * B, {{first, b}, {B + first, b}}) : AugmentRows{};
          auto D_in = diff_augment(torch::cat({G_z, xs[counter]}, 0), augment_, rows);
          auto D_out = D.forward(D_in, torch::cat({gy, ys[counter]}, 0));
          auto parts = D_out.split_with_sizes({G_z.size(0), xs[counter].size(0)});
          D_fake = parts[0];
          D_real = parts[1];
        }
      }
      if (amp_dtype_ != torch::kFloat) {  // the losses from float32 outputs
        D_fake = D_fake.to(torch::kFloat);
        D_real = D_real.to(torch::kFloat);
      }
      auto [loss_real, loss_fake] = discriminator_loss(gan_.loss, D_fake, D_real);
      auto D_loss = (loss_real + loss_fake) / static_cast<double>(c.num_D_accumulations);
      backward(D_loss, scaler);
      last_real = loss_real.detach();
      last_fake = loss_fake.detach();
      ++counter;
    }
    if (shard_.average_gradients) shard_.average_gradients(D_params);
    optimiser_step(*gan_.D_optim, D_params, c.D_ortho, {}, scaler, itr);
  }
  if (last_real.defined()) {
    out.D_loss_real = last_real.item<double>();
    out.D_loss_fake = last_fake.item<double>();
  }
}

void TrainStep::G_step(int64_t itr, StepLosses& out) {
  const auto& c = gan_.config;
  auto& G = *gan_.G;
  auto& D = *gan_.D;
  const auto G_params = gan_.G_parameters();
  GradScaler* scaler = precision_ ? precision_->G_scaler.get() : nullptr;
  if (c.toggle_grads) {
    toggle_grad(gan_.D_parameters(), false);
    toggle_grad(G_params, true);
  }
  gan_.G_optim->zero_grad();
  torch::Tensor last_loss;
  for (int64_t acc = 0; acc < c.num_G_accumulations; ++acc) {
    noise_->sample(z_, y_);
    torch::Tensor z = z_, gy = y_;
    AugmentRows rows;
    if (shard_.world > 1) {
      const int64_t gb = z_.size(0) / shard_.world;
      z = z_.slice(0, shard_.rank * gb, (shard_.rank + 1) * gb);
      gy = y_.slice(0, shard_.rank * gb, (shard_.rank + 1) * gb);
      if (!augment_.empty()) rows = AugmentRows::of(z_.size(0), {{shard_.rank * gb, gb}});
    }
    torch::Tensor D_fake;
    {
      AutocastScope autocast(device_, amp_dtype_);
      D_fake = D.forward(diff_augment(G.forward(z, G.shared(gy)), augment_, rows), gy);
    }
    if (amp_dtype_ != torch::kFloat) D_fake = D_fake.to(torch::kFloat);
    auto G_loss = generator_loss(gan_.loss, D_fake) / static_cast<double>(c.num_G_accumulations);
    backward(G_loss, scaler);
    last_loss = G_loss.detach();
  }
  if (last_loss.defined()) out.G_loss = last_loss.item<double>();
  if (shard_.average_gradients) shard_.average_gradients(G_params);
  std::vector<torch::Tensor> exempt;
  if (c.G_ortho > 0.0)
    if (auto shared = G.shared_layer()) exempt = shared->parameters();
  optimiser_step(*gan_.G_optim, G_params, c.G_ortho, exempt, scaler, itr);
}

void TrainStep::backward(const torch::Tensor& loss, GradScaler* scaler) {
  if (scaler) scaler->scale(loss).backward();
  else loss.backward();
}

void TrainStep::optimiser_step(Adam& optim, const std::vector<torch::Tensor>& params, double ortho,
                               const std::vector<torch::Tensor>& ortho_exempt, GradScaler* scaler, int64_t itr) {
  // Under fp16 the gradients (averaged over ranks first, so every rank decides alike) are unscaled
  // and checked; a step with an inf or NaN is skipped.
  const bool finite = !scaler || scaler->unscale(params);
  if (finite) {
    if (ortho > 0.0) add_ortho_gradient(params, ortho, ortho_exempt);
    optim.step();
  }
  if (scaler) scaler->update(finite, itr);
}

}  // namespace biggan
