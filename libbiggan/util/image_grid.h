// Sample sheets: a batch of images laid out in a grid and saved as PNG, as torchvision's
// make_grid / save_image do it (the reference writes every sample and interpolation sheet that way).
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace biggan {

struct GridOptions {
  int64_t nrow = 8;        // images per row (torchvision's default)
  int64_t padding = 2;     // pixels between images and around the border
  double pad_value = 0.0;  // in the normalised [0, 1] range
  // How pixel values become [0, 1]:
  //   MinMax     - (x - min) / (max - min) over the whole batch: save_image(normalize=True), which is
  //                what the reference's sample_sheet / interp_sheet use;
  //   FixedRange - clamp to [range_low, range_high] and rescale (e.g. [-1, 1], comparable sheets);
  //   None       - values are already in [0, 1] (clamped).
  enum class Normalize { MinMax, FixedRange, None } normalize = Normalize::MinMax;
  double range_low = -1.0, range_high = 1.0;
};

// images: float N×C×H×W (C = 1 or 3; 1 is repeated to 3), any device. Returns the grid as uint8
// H'×W'×3 RGB (CPU), rounded like save_image: uint8(clamp(255 x + 0.5, 0, 255)). One image
// (N = 1) gives the image alone, without padding, as torchvision does.
torch::Tensor make_grid(const torch::Tensor& images, const GridOptions& options = {});

// make_grid, then a PNG written atomically (temp file + rename), so a sheet is never half-written.
void save_image_grid(const torch::Tensor& images, const std::filesystem::path& png_path,
                     const GridOptions& options = {});

// An RGB uint8 H×W×3 tensor as PNG bytes / as a PNG file written atomically.
std::string encode_png(const torch::Tensor& rgb_hwc_uint8);
void write_png(const std::filesystem::path& path, const torch::Tensor& rgb_hwc_uint8);

// Reads a PNG (or any OpenCV-readable image) back as uint8 H×W×3 RGB; a clear error if unreadable.
torch::Tensor read_image_rgb(const std::filesystem::path& path);

}  // namespace biggan
