#include "libbiggan/training/sampling.h"

#include <cmath>

#include "libbiggan/models/layers.h"
#include "libbiggan/training/sample_run.h"
#include "libbiggan/training/sample_sinks.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/image_grid.h"

namespace biggan {

namespace fs = std::filesystem;

namespace {

torch::Device device_of(torch::nn::Module& m) {
  for (const auto& p : m.parameters()) return p.device();
  return torch::kCPU;
}

// The reference's utils.interp: x0, x1 [n, 1, d] -> [n, m + 2, d], lerp weights in x0's dtype.
torch::Tensor interp(const torch::Tensor& x0, const torch::Tensor& x1, int64_t num_midpoints) {
  auto lerp = torch::linspace(0, 1.0, num_midpoints + 2, torch::TensorOptions().device(x0.device()))
                  .to(x0.scalar_type())
                  .view({1, -1, 1});
  return x0 * (1 - lerp) + x1 * lerp;
}

// Standard normal CDF in float64.
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

torch::Tensor truncated_normal(torch::IntArrayRef shape, double bound, double std,
                               const torch::TensorOptions& options, torch::Generator gen) {
  if (!(bound > 0) || !std::isfinite(bound)) throw Error("truncation must be a positive number");
  if (!(std > 0) || !std::isfinite(std)) throw Error("z_var must be a positive number");
  const double a = bound / std;
  const double lo = normal_cdf(-a), hi = normal_cdf(a);
  auto u = torch::rand(shape, gen, options.dtype(torch::kFloat64));
  auto p = u * (hi - lo) + lo;
  auto z = (2 * p - 1).erfinv_().mul_(std::sqrt(2.0) * std);
  // Rounding at the ends of the interval may not step outside it.
  return z.clamp_(-bound, bound).to(options.dtype());
}

void draw_z(torch::Tensor& z, const LatentOptions& o, torch::Generator gen) {
  torch::NoGradGuard ng;
  if (o.truncation > 0)
    z.copy_(truncated_normal(z.sizes(), o.truncation, o.z_var, z.options(), gen));
  else
    z.normal_(0, o.z_var, gen);
}

LatentSampler::LatentSampler(int64_t batch_size, int64_t dim_z, int64_t n_classes, LatentOptions o,
                             int64_t fixed_class, torch::Device device)
    : n_classes_(n_classes), fixed_class_(fixed_class), options_(o) {
  if (batch_size < 1) throw Error("batch size must be at least 1");
  if (fixed_class >= n_classes) throw Error("class " + std::to_string(fixed_class) + " is out of range: G has " +
                                            std::to_string(n_classes) + " classes");
  if (o.truncation < 0) throw Error("truncation must be positive");
  // prepare_z_y: randn on the CPU, then moved; y zeros.
  z_ = torch::randn({batch_size, dim_z}).to(device);
  y_ = torch::zeros({batch_size}, torch::TensorOptions().dtype(torch::kInt64).device(device));
}

void LatentSampler::next(torch::Tensor& z, torch::Tensor& y) {
  torch::NoGradGuard ng;
  draw_z(z_, options_);
  if (fixed_class_ >= 0)
    y_.fill_(fixed_class_);
  else
    y_.random_(0, n_classes_);
  z = z_;
  y = y_;
}

torch::Tensor generate_images(GeneratorImpl& G, const torch::Tensor& z, const torch::Tensor& y,
                              int64_t batch_size) {
  auto latents = tensor_latents(z, y, batch_size);
  CollectSampleSink all;
  SampleRunOptions options;
  options.check_finite = false;  // the caller's to judge
  run_samples(G, *latents, {&all}, options);
  return all.images().to(z.device());
}

int64_t accumulate_standing_stats(GeneratorImpl& G, torch::Tensor z, torch::Tensor y, int64_t num_accumulations,
                                  c10::optional<torch::Generator> gen) {
  torch::NoGradGuard ng;
  if (!z.defined() || !y.defined() || z.dim() != 2 || z.size(1) != G.dim_z() || y.dim() != 1 ||
      y.size(0) != z.size(0) || y.scalar_type() != torch::kInt64)
    throw Error("standing statistics: z must be [B, dim_z] and y [B] int64");
  auto layers = mybn_layers(G);
  for (auto& bn : layers) {
    bn->reset_stats();
    bn->accumulate_standing = true;
  }
  G.train();
  for (int64_t i = 0; i < num_accumulations; ++i) {
    z.normal_(0, 1, gen);
    y.random_(0, G.n_classes(), gen);
    G.forward(z, G.shared(y));
  }
  G.eval();
  return static_cast<int64_t>(layers.size());
}

int64_t classes_per_sheet(const std::string& dataset, int64_t n_classes) {
  static const std::vector<std::pair<std::string, int64_t>> table = {
      {"I32", 50}, {"I32_hdf5", 50}, {"I64", 50}, {"I64_hdf5", 50}, {"I128", 20},
      {"I128_hdf5", 20}, {"I256", 20}, {"I256_hdf5", 20}, {"C10", 10}, {"C100", 100}};
  int64_t c = std::min<int64_t>(n_classes, 10);
  for (const auto& [name, k] : table)
    if (name == dataset) c = k;
  return std::max<int64_t>(1, std::min(c, n_classes));
}

std::vector<fs::path> save_class_sheets(GeneratorImpl& G, const fs::path& folder, const ClassSheetOptions& o) {
  torch::NoGradGuard ng;
  FrozenSpectralNorm frozen(G);  // one W / sigma for the sheets' forwards
  const int64_t n_classes = o.n_classes > 0 ? o.n_classes : G.n_classes();
  const int64_t c = o.classes_per_sheet;
  if (c < 1 || o.samples_per_class < 1) throw Error("sample sheets need at least one class and one sample");
  fs::create_directories(folder);
  const auto dev = device_of(G);
  torch::Tensor z_buffer;
  if (o.z_buffer_rows >= c) z_buffer = torch::empty({o.z_buffer_rows, G.dim_z()}, torch::TensorOptions().device(dev));
  std::vector<fs::path> written;
  for (int64_t i = 0; i < n_classes / c; ++i) {
    auto y = torch::arange(i * c, (i + 1) * c, torch::TensorOptions().dtype(torch::kInt64).device(dev));
    std::vector<torch::Tensor> ims;
    for (int64_t j = 0; j < o.samples_per_class; ++j) {
      torch::Tensor z;
      if (z_buffer.defined()) {
        draw_z(z_buffer, o.latents, o.generator);
        z = z_buffer.slice(0, 0, c);
      } else {
        z = torch::randn({c, G.dim_z()}, o.generator, torch::TensorOptions().device(dev));
      }
      ims.push_back(G.forward(z, G.shared(y)).to(torch::kFloat32).cpu());
    }
    // [c, samples, 3, R, R]: one row per class.
    auto sheet = torch::stack(ims, 1).reshape({-1, ims[0].size(1), ims[0].size(2), ims[0].size(3)});
    GridOptions g;
    g.nrow = o.samples_per_class;
    auto path = folder / ("samples" + std::to_string(i) + ".png");
    save_image_grid(sheet, path, g);
    written.push_back(path);
  }
  return written;
}

fs::path save_interp_sheet(GeneratorImpl& G, const fs::path& folder, const InterpSheetOptions& o) {
  torch::NoGradGuard ng;
  const int64_t n = o.num_per_sheet, cols = o.num_midpoints + 2, dz = G.dim_z();
  if (n < 1 || o.num_midpoints < 0) throw Error("interpolation sheets need at least one row and 0 or more midpoints");
  fs::create_directories(folder);
  const auto dev = device_of(G);
  const auto fopts = torch::TensorOptions().device(dev);
  auto draw = [&](int64_t rows) {
    return o.truncation > 0 ? truncated_normal({rows, 1, dz}, o.truncation, 1.0, fopts, o.generator)
                            : torch::randn({rows, 1, dz}, o.generator, fopts);
  };
  torch::Tensor zs;
  if (o.fix_z) {
    zs = draw(n).repeat({1, cols, 1}).view({-1, dz});
  } else {
    auto z0 = draw(n);
    auto z1 = draw(n);
    zs = interp(z0, z1, o.num_midpoints).view({-1, dz});
  }
  auto sample_classes = [&] {
    return torch::randint(0, G.n_classes(), {n}, o.generator, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  };
  torch::Tensor ys;
  if (o.fix_y) {
    ys = G.shared(sample_classes()).view({n, 1, -1}).repeat({1, cols, 1}).view({n * cols, -1});
  } else {
    auto y0 = G.shared(sample_classes()).view({n, 1, -1});
    auto y1 = G.shared(sample_classes()).view({n, 1, -1});
    ys = interp(y0, y1, o.num_midpoints).view({n * cols, -1});
  }
  // Without a shared embedding G takes class indices [N].
  if (!G.config().G_shared) ys = ys.view({-1});
  auto images = G.forward(zs, ys).to(torch::kFloat32).cpu();
  const std::string style = std::string(o.fix_z ? "" : "Z") + (o.fix_y ? "" : "Y");
  auto path = folder / ("interp" + style + std::to_string(o.sheet_number) + ".png");
  GridOptions g;
  g.nrow = cols;
  save_image_grid(images, path, g);
  return path;
}

std::vector<fs::path> save_interp_sheets(GeneratorImpl& G, const fs::path& folder, int64_t num_per_sheet,
                                         int64_t num_midpoints, int64_t sheet_number, double truncation,
                                         torch::Generator gen) {
  std::vector<fs::path> written;
  const bool fix_z[3] = {false, false, true}, fix_y[3] = {false, true, false};
  for (int k = 0; k < 3; ++k) {
    InterpSheetOptions o;
    o.num_per_sheet = num_per_sheet;
    o.num_midpoints = num_midpoints;
    o.fix_z = fix_z[k];
    o.fix_y = fix_y[k];
    o.sheet_number = sheet_number;
    o.truncation = truncation;
    o.generator = gen;
    written.push_back(save_interp_sheet(G, folder, o));
  }
  return written;
}

void save_random_sheet(const torch::Tensor& images, const fs::path& png) {
  GridOptions g;
  g.nrow = std::max<int64_t>(1, static_cast<int64_t>(std::sqrt(static_cast<double>(images.size(0)))));
  save_image_grid(images.to(torch::kFloat32).cpu(), png, g);
}

std::vector<fs::path> save_sample_sheets(GeneratorImpl& G, const torch::Tensor& fixed_z, const torch::Tensor& fixed_y,
                                         const fs::path& samples_dir, int64_t itr, const Config& config,
                                         torch::Generator gen) {
  std::vector<fs::path> written;
  fs::create_directories(samples_dir);
  {
    torch::NoGradGuard ng;
    auto fixed = G.forward(fixed_z, G.shared(fixed_y));
    auto path = samples_dir / ("fixed_samples" + std::to_string(itr) + ".png");
    save_random_sheet(fixed, path);
    written.push_back(path);
  }
  const auto folder = samples_dir / std::to_string(itr);
  ClassSheetOptions co;
  co.n_classes = config.n_classes;
  co.classes_per_sheet = classes_per_sheet(config.dataset, config.n_classes);
  co.samples_per_class = 10;
  co.z_buffer_rows = std::max(config.G_batch_size, config.batch_size);
  co.latents.z_var = config.z_var;
  co.generator = gen;
  for (auto& p : save_class_sheets(G, folder, co)) written.push_back(p);
  for (auto& p : save_interp_sheets(G, folder, 16, 8, 0, 0.0, gen)) written.push_back(p);
  return written;
}

}  // namespace biggan
