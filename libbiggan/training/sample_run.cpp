#include "libbiggan/training/sample_run.h"

#include "libbiggan/models/autocast.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/progress.h"
#include "libbiggan/util/shape_text.h"

namespace biggan {

namespace {

class DrawnLatents : public LatentSource {
 public:
  DrawnLatents(LatentSampler& sampler, int64_t count) : sampler_(sampler), count_(count) {
    if (count < 1) throw Error("the number of samples must be at least 1");
  }
  int64_t count() const override { return count_; }
  void next(torch::Tensor& z, torch::Tensor& y) override { sampler_.next(z, y); }

 private:
  LatentSampler& sampler_;
  int64_t count_;
};

class TensorLatents : public LatentSource {
 public:
  TensorLatents(torch::Tensor z, torch::Tensor y, int64_t batch_size)
      : z_(std::move(z)), y_(std::move(y)), batch_size_(batch_size) {
    if (batch_size < 1) throw Error("batch size must be at least 1");
    if (z_.dim() < 1 || z_.size(0) < 1 || !y_.defined() || y_.size(0) != z_.size(0))
      throw Error("latents: z and y need the same number (>= 1) of rows");
  }
  int64_t count() const override { return z_.size(0); }
  void next(torch::Tensor& z, torch::Tensor& y) override {
    const int64_t b = std::min(batch_size_, count() - at_);
    z = z_.slice(0, at_, at_ + b);
    y = y_.slice(0, at_, at_ + b);
    at_ += b;
  }

 private:
  torch::Tensor z_, y_;
  int64_t batch_size_, at_ = 0;
};

// The evaluators' fixed sample, drawn whole when made (see evaluation_latents).
class EvaluationLatents : public LatentSource {
 public:
  EvaluationLatents(int64_t n, uint64_t seed, double z_var, int64_t dim_z, int64_t n_classes, int64_t batch_size,
                    torch::Device device)
      : batch_size_(batch_size), device_(device) {
    if (n < 1 || batch_size < 1) throw Error("evaluation needs at least one sample and a batch size of at least 1");
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    z_ = torch::empty({n, dim_z}).normal_(0, z_var, gen);
    y_ = torch::arange(n, torch::kInt64).remainder(n_classes);
  }
  int64_t count() const override { return z_.size(0); }
  void next(torch::Tensor& z, torch::Tensor& y) override {
    const int64_t b = std::min(batch_size_, count() - at_);
    z = z_.slice(0, at_, at_ + b).to(device_);
    y = y_.slice(0, at_, at_ + b).to(device_);
    at_ += b;
  }

 private:
  torch::Tensor z_, y_;
  int64_t batch_size_, at_ = 0;
  torch::Device device_;
};

}  // namespace

std::unique_ptr<LatentSource> drawn_latents(LatentSampler& sampler, int64_t count) {
  return std::make_unique<DrawnLatents>(sampler, count);
}

FileLatents::FileLatents(const std::string& path, int64_t dim_z, int64_t n_classes, int64_t batch_size,
                         torch::Device device)
    : file_(h5::File::open_read(path)), path_(path), batch_size_(batch_size), device_(device) {
  if (batch_size < 1) throw Error("batch size must be at least 1");
  for (const char* name : {"z", "y"})
    if (!file_.exists(name)) throw input_error(path, std::string("no dataset '") + name + "' (latents need z and y)");
  const auto z_shape = file_.shape("z"), y_shape = file_.shape("y");
  const auto z_type = h5::dataset_dtype(file_, "z"), y_type = h5::dataset_dtype(file_, "y");
  if (z_type != torch::kFloat32 || z_shape.size() != 2)
    throw input_error(path, "z must be float32 [N, dim_z], got " + std::string(c10::toString(z_type)) + " of shape " +
                                shape_text(z_shape));
  if (y_type != torch::kInt64 || y_shape.size() != 1)
    throw input_error(path, "y must be int64 [N], got " + std::string(c10::toString(y_type)) + " of shape " +
                                shape_text(y_shape));
  if (z_shape[1] != dim_z)
    throw input_error(path, "z has dim_z " + std::to_string(z_shape[1]) + " but the generator takes " +
                                std::to_string(dim_z));
  if (y_shape[0] != z_shape[0])
    throw input_error(path, "z has " + std::to_string(z_shape[0]) + " rows but y has " + std::to_string(y_shape[0]));
  rows_ = count_ = z_shape[0];
  if (rows_ == 0) throw input_error(path, "no latents (N = 0)");
  check_rows(n_classes);
}

// Every row, in the order of checks of a whole read: classes in range over all of y, then z finite.
void FileLatents::check_rows(int64_t n_classes) {
  for (int64_t s = 0; s < rows_; s += batch_size_) {
    auto y = file_.read_rows("y", s, std::min(batch_size_, rows_ - s));
    if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= n_classes)
      throw input_error(path_, "y holds classes outside 0.." + std::to_string(n_classes - 1));
  }
  for (int64_t s = 0; s < rows_; s += batch_size_)
    if (!torch::isfinite(file_.read_rows("z", s, std::min(batch_size_, rows_ - s))).all().item<bool>())
      throw input_error(path_, "z holds NaN or Inf");
}

void FileLatents::keep_first(int64_t n) {
  if (n < 1 || n > rows_) throw input_error(path_, "cannot keep " + std::to_string(n) + " of " + std::to_string(rows_) + " rows");
  count_ = n;
}

void FileLatents::next(torch::Tensor& z, torch::Tensor& y) {
  const int64_t n = std::min(batch_size_, count_ - read_);
  if (n <= 0) throw input_error(path_, "read past the latents kept");
  z = file_.read_rows("z", read_, n).to(device_);
  y = file_.read_rows("y", read_, n).to(device_);
  read_ += n;
}

std::unique_ptr<LatentSource> tensor_latents(torch::Tensor z, torch::Tensor y, int64_t batch_size) {
  return std::make_unique<TensorLatents>(std::move(z), std::move(y), batch_size);
}

std::unique_ptr<LatentSource> evaluation_latents(int64_t n, uint64_t seed, double z_var, int64_t dim_z,
                                                 int64_t n_classes, int64_t batch_size, torch::Device device) {
  return std::make_unique<EvaluationLatents>(n, seed, z_var, dim_z, n_classes, batch_size, device);
}

std::pair<int64_t, int64_t> RankShareLatents::rows_of(int64_t total, int64_t batch_rows, int64_t k, int rank,
                                                      int world) {
  const int64_t first = k * batch_rows, n = std::min(batch_rows, total - first);
  return {first + rank * n / world, first + (rank + 1) * n / world};
}

RankShareLatents::RankShareLatents(LatentSource& inner, int64_t batch_rows, int rank, int world)
    : inner_(inner), batch_rows_(batch_rows), rank_(rank), world_(world) {
  if (batch_rows < 1 || world < 1 || rank < 0 || rank >= world)
    throw Error("rank share of latents: batch rows " + std::to_string(batch_rows) + ", rank " + std::to_string(rank) +
                " of " + std::to_string(world));
  const int64_t total = inner.count();
  for (int64_t k = 0; k * batch_rows < total; ++k) {
    const auto [first, last] = rows_of(total, batch_rows, k, rank, world);
    count_ += last - first;
  }
}

void RankShareLatents::next(torch::Tensor& z, torch::Tensor& y) {
  const int64_t total = inner_.count();
  while (forward_ * batch_rows_ < total) {
    const int64_t k = forward_++;
    inner_.next(z, y);
    const int64_t n = std::min(batch_rows_, total - k * batch_rows_);
    if (z.size(0) < n)
      throw Error("rank share of latents: forward " + std::to_string(k) + " has " + std::to_string(z.size(0)) +
                  " rows, " + std::to_string(n) + " expected");
    const auto [first, last] = rows_of(total, batch_rows_, k, rank_, world_);
    if (last > first) {  // else this forward's rows all go to other ranks
      z = z.slice(0, first - k * batch_rows_, last - k * batch_rows_);
      y = y.slice(0, first - k * batch_rows_, last - k * batch_rows_);
      return;
    }
  }
  throw Error("rank share of latents: read past rank " + std::to_string(rank_) + "'s rows");
}

torch::Tensor rank_share_order(int64_t total, int64_t batch_rows, int world) {
  auto order = torch::empty({total}, torch::kInt64);
  auto* at = order.data_ptr<int64_t>();
  int64_t joined = 0;
  for (int r = 0; r < world; ++r)
    for (int64_t k = 0; k * batch_rows < total; ++k) {
      const auto [first, last] = RankShareLatents::rows_of(total, batch_rows, k, r, world);
      for (int64_t i = first; i < last; ++i) at[i] = joined++;
    }
  return order;
}

struct SampleRun::Meter {
  ProgressMeter meter;
  Meter(const std::string& label, int64_t total) : meter(label, total, true) {}
};

SampleRun::SampleRun(GeneratorImpl& G, LatentSource& latents, std::vector<SampleSink*> sinks, SampleRunOptions options)
    : G_(G), latents_(latents), sinks_(std::move(sinks)), options_(std::move(options)), frozen_sn_(G) {
  if (options_.progress) meter_ = std::make_unique<Meter>(options_.progress_label, latents_.count());
}

SampleRun::~SampleRun() = default;

bool SampleRun::next(SampleBatch& batch) {
  const int64_t count = latents_.count();
  if (done_ >= count) return false;
  torch::Tensor z, y, images;
  latents_.next(z, y);
  {
    torch::NoGradGuard no_grad;
    AutocastScope autocast(z.device(), options_.autocast);  // nothing under float32
    images = G_.forward(z, G_.shared(y)).to(torch::kFloat32);
  }
  const int64_t take = std::min(images.size(0), count - done_);
  batch.images = images.slice(0, 0, take).cpu();
  if (options_.check_finite && !torch::isfinite(batch.images).all().item<bool>())
    throw Error(options_.generator_name + ": G produced NaN or infinite pixels in samples " + std::to_string(done_) +
                ".." + std::to_string(done_ + take - 1) + options_.failure_note);
  batch.z = z.slice(0, 0, take).cpu().clone();
  batch.y = y.slice(0, 0, take).cpu().clone();
  batch.first = done_;
  for (auto* sink : sinks_) sink->write(batch);
  done_ += take;
  if (meter_) meter_->meter.update(done_);
  return true;
}

void SampleRun::finish() {
  if (meter_) meter_->meter.finish(done_);
  for (auto* sink : sinks_) sink->finish();
}

void run_samples(GeneratorImpl& G, LatentSource& latents, const std::vector<SampleSink*>& sinks,
                 const SampleRunOptions& options) {
  SampleRun run(G, latents, sinks, options);
  SampleBatch batch;
  while (run.next(batch)) {
  }
  run.finish();
}

}  // namespace biggan
