// The order in which training images are visited, drawn exactly as the reference draws it, so that a
// run seeded like the reference's sees the same images in the same order (and a resumed run continues
// the uninterrupted order).
//
// WHEN THE REFERENCE DRAWS (train.py + utils.get_data_loaders + torch 1.13's DataLoader), all from
// torch's global default CPU generator, which LibTorch shares with Python (same mt19937, same
// randperm algorithm: one 32-bit draw per swap):
//   1. utils.seed_rng(seed): torch.manual_seed(seed).
//   2. The models are built and initialised (G, D, then G_ema): their parameter init and spectral-norm
//      buffers consume the generator.
//   3. get_data_loaders builds the sampler and the DataLoader: no draw.
//   4. prepare_z_y twice, then fixed_z.sample_() and fixed_y.sample_(): draws.
//   5. `for i, (x, y) in enumerate(loader)` creates the loader iterator, which draws its base seed:
//      torch.empty((), dtype=torch.int64).random_()  -> two 32-bit draws (reference_loader_iter_draw).
//   6. Fetching the first batch runs the sampler: MultiEpochSampler.__iter__ draws num_epochs
//      randperm(n) in a row (ALL epochs at once, before the first batch), keeps the last
//      ceil((n * num_epochs - start_itr * batch_size) / n) of them, and drops the first
//      start_itr * batch_size % n indices of the first one kept.
//      Without the multi-epoch sampler (--shuffle), torch's RandomSampler instead draws a seed with
//      random_() (two 32-bit draws), seeds a fresh generator with it and returns its randperm(n);
//      that happens anew at every epoch of train.py's epoch loop, each time after step 5.
// Then every training step draws its noise (z_.sample_(), y_.sample_()) from the same generator.
// For the reference's fixture run (trajectory/, seed 3, G_ch 8 etc.), steps 2-4 consumed 377,499
// 32-bit draws; tests/data reproduces its data order from that.
//
// Resuming: the reference re-seeds and rebuilds the models on resume, so the generator is in the same
// state at step 6; with start_itr = itr the order is then the uninterrupted order from itr*batch_size.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace at {
class Generator;
}

namespace biggan::data {

class MultiEpochSampler {
 public:
  // n images, num_epochs epochs, resuming after start_itr iterations of batch_size images.
  MultiEpochSampler(int64_t n, int64_t num_epochs, int64_t start_itr = 0, int64_t batch_size = 128);

  // Number of indices draw() returns: n * num_epochs - start_itr * batch_size (clamped at 0).
  int64_t size() const;

  // Draws the order (int64 [size()]) as the reference's __iter__ does, from `gen` (default: torch's
  // global generator). Always draws num_epochs permutations, whatever start_itr is.
  torch::Tensor draw() const;
  torch::Tensor draw(at::Generator& gen) const;

  int64_t n() const { return n_; }
  int64_t num_epochs() const { return num_epochs_; }
  int64_t start_itr() const { return start_itr_; }
  int64_t batch_size() const { return batch_size_; }

 private:
  int64_t n_, num_epochs_, start_itr_, batch_size_;
};

// One epoch's order as torch's RandomSampler (DataLoader shuffle=True) draws it: a seed from
// random_() on `gen`, then randperm(n) from a fresh generator seeded with it.
torch::Tensor random_sampler_order(int64_t n);
torch::Tensor random_sampler_order(int64_t n, at::Generator& gen);

// The draw a DataLoader makes when an iterator over it is created (its base seed): two 32-bit draws.
void reference_loader_iter_draw();
void reference_loader_iter_draw(at::Generator& gen);

}  // namespace biggan::data
