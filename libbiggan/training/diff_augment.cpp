#include "libbiggan/training/diff_augment.h"

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

using torch::indexing::Slice;

// One draw per image: for the whole batch `rows` belongs to, keeping this tensor's rows.
torch::Tensor kept(const torch::Tensor& drawn, const AugmentRows& rows) {
  return rows.global > 0 ? drawn.index_select(0, rows.rows) : drawn;
}
int64_t draw_count(const torch::Tensor& x, const AugmentRows& rows) { return rows.global > 0 ? rows.global : x.size(0); }

torch::Tensor per_image_uniform(const torch::Tensor& x, const AugmentRows& rows) {
  return kept(torch::rand({draw_count(x, rows), 1, 1, 1}, x.options()), rows);
}

torch::Tensor per_image_randint(int64_t low, int64_t high, const torch::Tensor& x, const AugmentRows& rows) {
  auto lopts = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
  return kept(torch::randint(low, high, {draw_count(x, rows), 1, 1}, lopts), rows);
}

torch::Tensor rand_brightness(const torch::Tensor& x, const AugmentRows& rows) {
  return x + (per_image_uniform(x, rows) - 0.5);
}

torch::Tensor rand_saturation(const torch::Tensor& x, const AugmentRows& rows) {
  auto mean = x.mean(1, true);
  return (x - mean) * (per_image_uniform(x, rows) * 2) + mean;
}

torch::Tensor rand_contrast(const torch::Tensor& x, const AugmentRows& rows) {
  auto mean = x.mean({1, 2, 3}, true);
  return (x - mean) * (per_image_uniform(x, rows) + 0.5) + mean;
}

// [N, a, b] index grids over (image, row, column), as torch.meshgrid(indexing="ij").
std::vector<torch::Tensor> index_grid(int64_t n, int64_t a, int64_t b, const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  return torch::meshgrid({torch::arange(n, opts), torch::arange(a, opts), torch::arange(b, opts)}, "ij");
}

torch::Tensor rand_translation(const torch::Tensor& x, const AugmentRows& rows, double ratio = 0.125) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t shift_x = static_cast<int64_t>(h * ratio + 0.5), shift_y = static_cast<int64_t>(w * ratio + 0.5);
  auto tx = per_image_randint(-shift_x, shift_x + 1, x, rows);
  auto ty = per_image_randint(-shift_y, shift_y + 1, x, rows);
  auto g = index_grid(n, h, w, x.device());
  auto gx = torch::clamp(g[1] + tx + 1, 0, h + 1);
  auto gy = torch::clamp(g[2] + ty + 1, 0, w + 1);
  auto padded = torch::constant_pad_nd(x, {1, 1, 1, 1, 0, 0, 0, 0}, 0);
  return padded.permute({0, 2, 3, 1}).contiguous().index({g[0], gx, gy}).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor rand_cutout(const torch::Tensor& x, const AugmentRows& rows, double ratio = 0.5) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t cut_h = static_cast<int64_t>(h * ratio + 0.5), cut_w = static_cast<int64_t>(w * ratio + 0.5);
  auto ox = per_image_randint(0, h + (1 - cut_h % 2), x, rows);
  auto oy = per_image_randint(0, w + (1 - cut_w % 2), x, rows);
  auto g = index_grid(n, cut_h, cut_w, x.device());
  auto gx = torch::clamp(g[1] + ox - cut_h / 2, 0, h - 1);
  auto gy = torch::clamp(g[2] + oy - cut_w / 2, 0, w - 1);
  auto mask = torch::ones({n, h, w}, x.options());
  mask.index_put_({g[0], gx, gy}, 0);
  return x * mask.unsqueeze(1);
}

}  // namespace

std::vector<std::string> parse_diff_augment_policy(const std::string& policy) {
  std::vector<std::string> parts;
  if (policy.empty()) return parts;
  size_t start = 0;
  while (true) {
    const size_t comma = policy.find(',', start);
    const std::string p = policy.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (p != "color" && p != "translation" && p != "cutout")
      throw Error("--DiffAugment: unknown policy part '" + p + "' in '" + policy +
                  "' (color, translation, cutout, comma-separated)");
    parts.push_back(p);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

AugmentRows AugmentRows::of(int64_t global, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  AugmentRows r;
  r.global = global;
  std::vector<torch::Tensor> parts;
  for (auto [start, count] : ranges) parts.push_back(torch::arange(start, start + count, torch::kInt64));
  r.rows = torch::cat(parts);
  return r;
}

torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy, const AugmentRows& rows) {
  if (policy.empty()) return x;
  if (x.dim() != 4) throw Error("DiffAugment: images must be [N, C, H, W]");
  if (rows.global > 0 && rows.rows.numel() != x.size(0))
    throw Error("DiffAugment: " + std::to_string(x.size(0)) + " images but " + std::to_string(rows.rows.numel()) +
                " rows of the whole batch");
  const AugmentRows on_device =
      rows.global > 0 ? AugmentRows{rows.global, rows.rows.to(x.device())} : AugmentRows{};
  torch::Tensor out = x;
  for (const auto& p : policy) {
    if (p == "color") {
      out = rand_contrast(rand_saturation(rand_brightness(out, on_device), on_device), on_device);
    } else if (p == "translation") {
      out = rand_translation(out, on_device);
    } else {
      out = rand_cutout(out, on_device);
    }
  }
  return out.contiguous();
}

}  // namespace biggan
