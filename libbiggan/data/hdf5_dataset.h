// The training set: random access to a training file (ours or one the reference's make_hdf5.py wrote:
// `imgs` uint8 [N, 3, H, W], `labels` integer [N]), read from disk on demand or loaded whole into
// memory (the reference's --load_in_mem). Labels are always held in memory as int64.
//
// Thread-safe: reads from the file are serialised by an internal lock (the HDF5 library may be built
// without thread safety); in-memory reads need no lock.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "libbiggan/serialization/hdf5_file.h"

namespace biggan::data {

class HDF5Dataset {
 public:
  // Opens and validates the file. Clear errors for: no `imgs` or `labels` dataset, `imgs` not of
  // rank 4 with 3 channels or not uint8, `labels` not a rank-1 integer dataset, different lengths,
  // or an empty data set.
  explicit HDF5Dataset(const std::string& path, bool load_in_mem = false);

  const std::string& path() const { return path_; }
  bool in_memory() const { return in_memory_; }
  int64_t size() const { return n_; }
  int64_t channels() const { return 3; }
  int64_t height() const { return h_; }
  int64_t width() const { return w_; }
  // Bytes of one image (3 * H * W).
  int64_t image_bytes() const { return 3 * h_ * w_; }
  // int64 [N].
  const torch::Tensor& labels() const { return labels_; }
  // Largest label + 1.
  int64_t num_classes() const { return num_classes_; }
  // The file's `classes` attribute (written by imagenet-to-hdf5), empty if absent.
  const std::vector<std::string>& class_names() const { return class_names_; }

  // Image i: uint8 [3, H, W].
  torch::Tensor get(int64_t i) const;
  // Images at `indices` (any order, repeats allowed): uint8 [B, 3, H, W].
  torch::Tensor get_batch(const std::vector<int64_t>& indices) const;
  // The same into caller memory holding indices.size() * image_bytes() bytes.
  void read_into(const std::vector<int64_t>& indices, uint8_t* out) const;

 private:
  std::string path_;
  bool in_memory_ = false;
  int64_t n_ = 0, h_ = 0, w_ = 0, num_classes_ = 0;
  torch::Tensor labels_, images_;  // images_ only when in memory
  std::vector<std::string> class_names_;
  mutable h5::File file_;
  mutable std::mutex mutex_;
};

}  // namespace biggan::data
