// Sampling from a generator as BigGAN-PyTorch does it (utils.sample, sample_sheet, interp_sheet,
// accumulate_standing_stats, train_fns.save_and_sample), plus the truncation trick.
//
// Every draw comes from torch's global generator (CPU, or CUDA for tensors on a GPU) in the
// reference's order, so with the same seed, weights and device the reference's sample.py and
// gan-sample give the same latents. Sheets are PNG (the reference writes JPEG) with the same layout.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "libbiggan/models/model.h"
#include "libbiggan/training/config.h"

namespace biggan {

// How latents z are drawn.
struct LatentOptions {
  // The reference's z_var. Like the reference (Distribution.sample_ calls normal_(0, var)) it is
  // used as the standard deviation.
  double z_var = 1.0;
  // > 0: the truncation trick, z restricted to [-truncation, truncation] (see truncated_normal).
  double truncation = 0.0;
};

// N(0, std²) restricted to [-bound, bound], as scipy.stats.truncnorm(-a, a, scale=std) with
// a = bound / std draws it (inverse CDF): u = torch.rand(shape, float64) from torch's generator on
// `options`' device, then z = std · Φ⁻¹(Φ(-a) + u (Φ(a) - Φ(-a))), computed in float64 (Φ⁻¹ via
// erfinv) and returned in options' dtype. Equals truncnorm.ppf(u, -a, a) · std; always within ±bound.
// `gen`: a torch::Generator of options' device to draw from, or undefined for torch's global one
// (the same holds for every `gen` below).
torch::Tensor truncated_normal(torch::IntArrayRef shape, double bound, double std,
                               const torch::TensorOptions& options, torch::Generator gen = {});

// Overwrites z with a fresh draw: z.normal_(0, z_var) as the reference's z_.sample_(), or the
// truncated normal when o.truncation > 0.
void draw_z(torch::Tensor& z, const LatentOptions& o, torch::Generator gen = {});

// utils.prepare_z_y + Distribution.sample_: a z / y buffer of batch_size rows. Construction draws
// torch.randn(batch_size, dim_z) as prepare_z_y does (so later draws line up with the reference's);
// next() then draws z (draw_z) and y (random_(0, n_classes), or the fixed class) as utils.sample.
class LatentSampler {
 public:
  LatentSampler(int64_t batch_size, int64_t dim_z, int64_t n_classes, LatentOptions o,
                int64_t fixed_class = -1, torch::Device device = torch::kCPU);
  // The next batch: z [batch_size, dim_z] float32 and y [batch_size] int64 (views of the buffers;
  // clone them to keep them past the next call).
  void next(torch::Tensor& z, torch::Tensor& y);
  // Changes z_var / truncation for later draws (the reference's truncation curve sets z_.var).
  void set_options(const LatentOptions& o) { options_ = o; }
  const LatentOptions& options() const { return options_; }
  torch::Tensor& z_buffer() { return z_; }
  torch::Tensor& y_buffer() { return y_; }
  int64_t batch_size() const { return z_.size(0); }

 private:
  torch::Tensor z_, y_;
  int64_t n_classes_, fixed_class_;
  LatentOptions options_;
};

// G(z, G.shared(y)) without gradients, in forwards of at most batch_size rows, in G's current mode
// (in train mode every forward uses its own batch statistics and updates the SN / BN buffers, as the
// reference does). Returns N×3×R×R float32 on z's device. Runs through the sample path (sample_run.h).
torch::Tensor generate_images(GeneratorImpl& G, const torch::Tensor& z, const torch::Tensor& y,
                              int64_t batch_size);

// utils.accumulate_standing_stats: resets every myBN and switches it to standing accumulation,
// puts G in train mode, runs num_accumulations forwards, each on a fresh draw into the caller's
// buffers (z.normal_() with std 1, then y.random_(0, n_classes), as the reference; z [B, dim_z] and
// y [B] int64 on G's device, e.g. a LatentSampler's buffers), then puts G in eval mode. Returns the
// number of myBN layers (0: only running statistics and SN vectors moved, as in the reference).
// With `gen`, the draws come from it instead of torch's default generator for z's device.
int64_t accumulate_standing_stats(GeneratorImpl& G, torch::Tensor z, torch::Tensor y, int64_t num_accumulations,
                                  c10::optional<torch::Generator> gen = c10::nullopt);

// utils.classes_per_sheet_dict for the data set, or min(n_classes, 10) for data sets it lacks;
// never more than n_classes.
int64_t classes_per_sheet(const std::string& dataset, int64_t n_classes);

// utils.sample_sheet: for sheet i (of n_classes / classes_per_sheet), classes
// [i·c, (i+1)·c) as rows, samples_per_class columns. For each column the reference redraws its z_
// buffer (z_buffer_rows rows, draw_z) and uses its first c rows when z_buffer_rows >= c, otherwise
// torch.randn(c, dim_z). Writes folder/samples{i}.png (nrow = samples_per_class, min-max normalised).
struct ClassSheetOptions {
  int64_t n_classes = 0;          // 0: G's n_classes
  int64_t classes_per_sheet = 10;
  int64_t samples_per_class = 10;
  int64_t z_buffer_rows = 0;      // the reference's G_batch_size (its z_ buffer); 0: always randn
  LatentOptions latents;          // for the buffer draws (the randn fallback ignores z_var, as the reference)
  torch::Generator generator;     // undefined: torch's global generator (the reference's behaviour)
};
std::vector<std::filesystem::path> save_class_sheets(GeneratorImpl& G, const std::filesystem::path& folder,
                                                     const ClassSheetOptions& o);

// utils.interp_sheet: num_per_sheet rows of num_midpoints + 2 images interpolating linearly between
// two z (unless fix_z) and between two class embeddings G.shared(y) (unless fix_y). Draw order as the
// reference: z0, z1 (or one z), then y0, y1 (or one y). Without G_shared the reference lerps the class
// indices as integers (every column but the last shows y0); so do we. Writes
// folder/interp{Z if !fix_z}{Y if !fix_y}{sheet_number}.png. z uses torch.randn (truncated when
// truncation > 0).
struct InterpSheetOptions {
  int64_t num_per_sheet = 16;
  int64_t num_midpoints = 8;
  bool fix_z = false, fix_y = false;
  int64_t sheet_number = 0;
  double truncation = 0.0;
  torch::Generator generator;     // undefined: torch's global generator (the reference's behaviour)
};
std::filesystem::path save_interp_sheet(GeneratorImpl& G, const std::filesystem::path& folder,
                                        const InterpSheetOptions& o);

// The reference's three interpolation sheets in its order: (fix_z, fix_y) = (no, no), (no, yes),
// (yes, no), i.e. interpZY{n}.png, interpZ{n}.png, interpY{n}.png.
std::vector<std::filesystem::path> save_interp_sheets(GeneratorImpl& G, const std::filesystem::path& folder,
                                                      int64_t num_per_sheet = 16, int64_t num_midpoints = 8,
                                                      int64_t sheet_number = 0, double truncation = 0.0,
                                                      torch::Generator gen = {});

// A sheet of `images` (N×3×R×R in [-1, 1]) with nrow = int(sqrt(N)), min-max normalised, as the
// reference's random / fixed sample sheets.
void save_random_sheet(const torch::Tensor& images, const std::filesystem::path& png);

// What train_fns.save_and_sample writes after the weights, with G as the caller prepared it
// (G or G_ema, eval mode or not, standing stats accumulated or not):
//   samples_dir/fixed_samples{itr}.png        G(fixed_z, shared(fixed_y))
//   samples_dir/{itr}/samples{i}.png           class sheets (classes_per_sheet(config.dataset, ...),
//                                              10 per class, z buffer of max(G_batch_size, batch_size)
//                                              rows drawn with config.z_var)
//   samples_dir/{itr}/interp{ZY,Z,Y}0.png      interpolation sheets (16 rows, 8 midpoints)
// Draws from `gen`, or torch's global generator as the reference does when it is undefined (pass a
// private generator of G's device to keep the training noise independent of saving). Returns every
// file written.
std::vector<std::filesystem::path> save_sample_sheets(GeneratorImpl& G, const torch::Tensor& fixed_z,
                                                      const torch::Tensor& fixed_y,
                                                      const std::filesystem::path& samples_dir, int64_t itr,
                                                      const Config& config, torch::Generator gen = {});

}  // namespace biggan
