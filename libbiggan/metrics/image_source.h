// Where images to score come from, one batch at a time: a msgpack sample stream (stdin or a file),
// an HDF5 training file (`imgs` uint8 N×C×H×W, as imagenet-to-hdf5 and BigGAN-PyTorch write it), an
// .npz of samples (the reference's `--sample_npz` layout: `x` uint8 [N, H, W, 3], `y` labels), an
// image folder (searched recursively, files in sorted order), or tensors already in memory.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "libbiggan/serialization/npz.h"

namespace biggan::metrics {

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  // Up to max_n images as float32 in [-1, 1], N×3×H×W (grey images repeated to 3 channels; one
  // batch never mixes image sizes), and their labels (int64 [N]) when the source has them.
  // False when the source is exhausted.
  virtual bool next(int64_t max_n, torch::Tensor& images, torch::Tensor& labels) = 0;
  // Total number of images when known in advance, else -1.
  virtual int64_t size_hint() const { return -1; }
  virtual std::string name() const = 0;
};

// "-" → stream on stdin; a directory → image folder; *.h5 / *.hdf5 → HDF5 (`hdf5_dataset`, default
// `imgs`); *.npz → samples (`x`); anything else → a stream file. Errors name the input.
std::unique_ptr<ImageSource> open_image_source(const std::string& input, const std::string& hdf5_dataset = "imgs");
// An .npz whose arrays are already loaded (the caller looked inside to tell samples from moments).
std::unique_ptr<ImageSource> npz_image_source(npz::Arrays arrays, const std::string& path);

// Images already in memory (uint8 0..255 or float in [-1, 1], N×C×H×W with 1 or 3 channels) and
// their labels (undefined, or [N] integers), handed out in batches; `name` names them in errors.
std::unique_ptr<ImageSource> tensor_image_source(torch::Tensor images, torch::Tensor labels, const std::string& name);

// uint8 0..255 → float32 in [-1, 1] exactly as the reference's data pipeline: (u / 255 - 0.5) · 2.
torch::Tensor uint8_to_unit_range(const torch::Tensor& images);

}  // namespace biggan::metrics
