// Batches for training: images in a given order (from MultiEpochSampler or random_sampler_order),
// converted to float in [-1, 1] exactly as the reference's ILSVRC_HDF5 does ((x / 255 - 0.5) * 2 in
// float32), optionally augmented, prepared ahead by a pool of background threads.
//
// Batches come in order: batch k holds order[k*B, (k+1)*B); the last one is shorter when the order's
// length is not a multiple of B (the reference's multi-epoch DataLoader keeps it; drop_last drops it,
// as the reference's shuffle DataLoader does).
//
// Augment (CIFAR style, as torchvision's RandomCrop(size, padding=4) + RandomHorizontalFlip): a random
// crop of the zero-padded image (offsets 0..8 per axis, padding reads as 0 -> -1.0) and a flip with
// probability 1/2. The reference applies no augmentation to HDF5 training files at all, so its random
// numbers do not come from torch's generator here (that would shift the training noise): each image's
// crop and flip are a pure function of (augment_seed, position in the run), so they do not depend on
// thread timing and a resumed run (position_offset = start_itr * batch_size) augments as the
// uninterrupted one.
//
// Memory: at most `prefetch` batches are ready or in preparation. On a CUDA build with a GPU the
// batches are allocated in pinned memory, so that .to(cuda, non_blocking) overlaps with compute.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "libbiggan/data/hdf5_dataset.h"

namespace biggan::data {

struct Batch {
  torch::Tensor x;  // float32 [B, 3, H, W] in [-1, 1]
  torch::Tensor y;  // int64 [B]
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool drop_last = false;
  bool augment = false;
  uint64_t augment_seed = 0;
  int64_t position_offset = 0;  // index of order[0] in the whole run (for augment after a resume)
  int threads = 2;              // background workers (>= 1)
  int prefetch = 4;             // batches ready or in preparation (>= 1)
  bool pin_memory = true;       // only takes effect when torch::cuda::is_available()
  // How a worker thread is started; empty: std::thread. A test passes one that throws as the OS
  // does when it refuses a thread (std::system_error), since that refusal cannot be provoked the
  // same way in every sandbox (some do not enforce RLIMIT_NPROC).
  std::function<std::thread(std::function<void()>)> start_thread;
};

class BatchLoader {
 public:
  // `order`: int64 [M] indices into `data`.
  BatchLoader(std::shared_ptr<const HDF5Dataset> data, torch::Tensor order, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch, or nullopt after the last. Rethrows a worker's error (e.g. a read failure).
  std::optional<Batch> next();
  int64_t num_batches() const { return num_batches_; }
  int64_t batches_returned() const { return next_to_return_; }

 private:
  Batch make_batch(int64_t k) const;
  void worker();
  void stop_workers();  // sets stop_, wakes and joins every started thread

  std::shared_ptr<const HDF5Dataset> data_;
  std::vector<int64_t> order_;
  LoaderOptions opt_;
  int64_t num_batches_ = 0;
  bool pinned_ = false;
  float lut_[256];

  std::mutex mutex_;
  std::condition_variable work_cv_, ready_cv_;
  int64_t next_to_assign_ = 0, next_to_return_ = 0;
  bool stop_ = false;
  std::map<int64_t, Batch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
  std::vector<std::thread> threads_;
};

// The reference's uint8 -> float mapping for all 256 values, computed with torch's own float ops.
std::vector<float> reference_normalize_table();

}  // namespace biggan::data
