#include "libbiggan/util/image_grid.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan {

torch::Tensor make_grid(const torch::Tensor& images_in, const GridOptions& o) {
  torch::NoGradGuard ng;
  if (!images_in.defined() || images_in.dim() != 4)
    throw Error("image grid: expected images N×C×H×W, got a tensor of " +
                std::to_string(images_in.defined() ? images_in.dim() : 0) + " dimensions");
  if (images_in.size(0) < 1) throw Error("image grid: no images");
  if (images_in.size(1) != 1 && images_in.size(1) != 3)
    throw Error("image grid: expected 1 or 3 channels, got " + std::to_string(images_in.size(1)));
  if (o.nrow < 1 || o.padding < 0) throw Error("image grid: nrow must be >= 1 and padding >= 0");
  auto x = images_in.detach().to(torch::kCPU, torch::kFloat32).clone();
  if (x.size(1) == 1) x = x.repeat({1, 3, 1, 1});

  switch (o.normalize) {
    case GridOptions::Normalize::MinMax: {
      double lo = x.min().item<double>(), hi = x.max().item<double>();
      x.clamp_(lo, hi).sub_(lo).div_(std::max(hi - lo, 1e-5));
      break;
    }
    case GridOptions::Normalize::FixedRange:
      x.clamp_(o.range_low, o.range_high).sub_(o.range_low).div_(std::max(o.range_high - o.range_low, 1e-5));
      break;
    case GridOptions::Normalize::None:
      break;
  }

  torch::Tensor grid;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  if (n == 1) {
    grid = x[0];
  } else {
    const int64_t cols = std::min(o.nrow, n);
    const int64_t rows = (n + cols - 1) / cols;
    const int64_t ch = h + o.padding, cw = w + o.padding;
    grid = torch::full({3, ch * rows + o.padding, cw * cols + o.padding}, o.pad_value, torch::kFloat32);
    for (int64_t k = 0; k < n; ++k) {
      int64_t r = k / cols, c = k % cols;
      grid.narrow(1, r * ch + o.padding, h).narrow(2, c * cw + o.padding, w).copy_(x[k]);
    }
  }
  // save_image's rounding: 255 x + 0.5, clamped, truncated to uint8.
  return grid.mul(255).add_(0.5).clamp_(0, 255).permute({1, 2, 0}).to(torch::kUInt8).contiguous();
}

std::string encode_png(const torch::Tensor& rgb_in) {
  if (rgb_in.dim() != 3 || rgb_in.size(2) != 3 || rgb_in.scalar_type() != torch::kUInt8)
    throw Error("PNG encoding: expected a uint8 H×W×3 RGB tensor");
  auto rgb = rgb_in.to(torch::kCPU).contiguous();
  cv::Mat view(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_8UC3, rgb.data_ptr());
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  if (!cv::imencode(".png", bgr, buf)) throw Error("PNG encoding failed");
  return std::string(buf.begin(), buf.end());
}

void write_png(const std::filesystem::path& path, const torch::Tensor& rgb) {
  // Encoded in memory first: the temp file's name does not end in .png, so imwrite could not be used.
  write_file_atomically(path, encode_png(rgb));
}

void save_image_grid(const torch::Tensor& images, const std::filesystem::path& png_path,
                     const GridOptions& options) {
  write_png(png_path, make_grid(images, options));
}

torch::Tensor read_image_rgb(const std::filesystem::path& path) {
  cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw input_error(path.string(), "cannot read as an image (missing or not an image file)");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

}  // namespace biggan
