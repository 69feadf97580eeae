// The one path for "a generator over latents in batches": latents drawn or read (LatentSource), G
// run in fixed batches without gradients, every batch checked to be finite and handed to sinks
// (SampleSink: HDF5, npz, the msgpack stream, the random sheet, a metric's feature accumulator; see
// sample_sinks.h). gan-sample's outputs, the truncation curve, score_samples and the training-time
// evaluators all go through it. Nothing here holds more than one batch, so memory does not grow with
// the number of samples (a sink may keep what it needs, e.g. the sheet's first images).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "libbiggan/models/model.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/training/sampling.h"

namespace biggan {

// One batch as the sinks see it: rows [first, first + n) of the run.
struct SampleBatch {
  torch::Tensor images;  // [n, 3, R, R] float32 on the CPU, in [-1, 1]
  torch::Tensor z;       // [n, dim_z] float32 on the CPU
  torch::Tensor y;       // [n] int64 on the CPU
  int64_t first = 0;
};

// Where latents come from, one forward at a time.
class LatentSource {
 public:
  virtual ~LatentSource() = default;
  // Rows in all.
  virtual int64_t count() const = 0;
  // The next forward's z [b, dim_z] float32 and y [b] int64 on G's device. b may exceed the rows
  // still wanted: a sampler always draws a whole batch (as the reference's utils.sample), and the
  // run keeps the first rows of what G makes of it.
  virtual void next(torch::Tensor& z, torch::Tensor& y) = 0;
};

// `count` rows drawn by `sampler` (utils.sample: z then y, a whole sampler batch per forward).
std::unique_ptr<LatentSource> drawn_latents(LatentSampler& sampler, int64_t count);

// Latents from an HDF5 file: z [N, dim_z] float32 and y [N] int64, checked against G's dim_z and
// classes (and z for NaN / Inf) when opened, then read `batch_size` rows at a time (the file is never
// read whole). Errors name the file.
class FileLatents : public LatentSource {
 public:
  FileLatents(const std::string& path, int64_t dim_z, int64_t n_classes, int64_t batch_size, torch::Device device);
  // Rows in the file.
  int64_t rows() const { return rows_; }
  // Keeps only the first n rows (1 <= n <= rows()).
  void keep_first(int64_t n);
  int64_t count() const override { return count_; }
  void next(torch::Tensor& z, torch::Tensor& y) override;

 private:
  void check_rows(int64_t n_classes);
  h5::File file_;
  std::string path_;
  int64_t batch_size_, rows_ = 0, count_ = 0, read_ = 0;
  torch::Device device_;
};

// Latents given as tensors (z [N, dim_z], y [N], on G's device), batch_size rows at a time.
std::unique_ptr<LatentSource> tensor_latents(torch::Tensor z, torch::Tensor y, int64_t batch_size);

// The evaluators' fixed sample: `n` rows, z ~ N(0, z_var) from a private CPU generator seeded with
// `seed` (so every evaluation sees the same z and torch's global generator is not touched), labels
// cycling over the classes (k % n_classes), handed out batch_size rows at a time. z is drawn whole
// when made (4·dim_z bytes a row): one normal_ call gives other numbers than several smaller ones.
std::unique_ptr<LatentSource> evaluation_latents(int64_t n, uint64_t seed, double z_var, int64_t dim_z,
                                                 int64_t n_classes, int64_t batch_size, torch::Device device);

// One rank's part of `inner` when several processes sample together (training/distributed.h), as
// DataParallel splits a batch over devices: of each forward's n rows (`batch_rows` a forward, the
// last one what is left of inner.count()), rank r of `world` takes rows [r*n/world, (r+1)*n/world).
// Every rank draws every forward's latents, so a sampler's numbers are those of one process; G runs
// on this rank's rows only (in train mode, with their batch statistics, as on DataParallel's devices).
class RankShareLatents : public LatentSource {
 public:
  RankShareLatents(LatentSource& inner, int64_t batch_rows, int rank, int world);
  int64_t count() const override { return count_; }
  void next(torch::Tensor& z, torch::Tensor& y) override;
  // Rows [first, last) of forward k that rank r takes.
  static std::pair<int64_t, int64_t> rows_of(int64_t total, int64_t batch_rows, int64_t k, int rank, int world);

 private:
  LatentSource& inner_;
  int64_t batch_rows_, count_ = 0, forward_ = 0;
  int rank_, world_;
};

// Where each of `total` rows is once every rank's share (RankShareLatents) is joined rank after rank:
// joined.index_select(0, rank_share_order(...)) is the rows in inner's order.
torch::Tensor rank_share_order(int64_t total, int64_t batch_rows, int world);

// Takes the batches of a run. write() gets them in order; finish() follows the last one (the sink
// completes and publishes its output there). A sink destroyed unfinished removes whatever output
// it has not completed, so a failed run leaves no half-written file and earlier files untouched.
class SampleSink {
 public:
  virtual ~SampleSink() = default;
  virtual void write(const SampleBatch& batch) = 0;
  virtual void finish() {}
};

struct SampleRunOptions {
  // Names G in errors (a weights file), and what the NaN error adds (e.g. what is left written).
  std::string generator_name = "generator";
  std::string failure_note;
  // Refuse a batch with NaN or infinite pixels (an error naming the samples).
  bool check_finite = true;
  // A progress line on stderr (util/progress) under this label.
  bool progress = false;
  std::string progress_label = "samples";
  // gan-sample --amp: G's forward under autocast to this type (bf16, fp16); kFloat: float32.
  torch::ScalarType autocast = torch::kFloat;
};

// G over a latent source, one forward a batch, in G's current mode (in train mode each forward uses
// its own batch statistics, as the reference). Pull batches with next() (a metric's ImageSource
// does) or run them all with run_samples().
class SampleRun {
 public:
  SampleRun(GeneratorImpl& G, LatentSource& latents, std::vector<SampleSink*> sinks, SampleRunOptions options = {});
  ~SampleRun();
  // Makes the next batch, hands it to every sink in order and returns it; false after the last.
  bool next(SampleBatch& batch);
  // Finishes every sink in order (after the last batch).
  void finish();
  int64_t count() const { return latents_.count(); }
  int64_t done() const { return done_; }

 private:
  GeneratorImpl& G_;
  LatentSource& latents_;
  std::vector<SampleSink*> sinks_;
  SampleRunOptions options_;
  int64_t done_ = 0;
  struct Meter;
  std::unique_ptr<Meter> meter_;
  // G's weights are fixed for the run: spectral norm's W / sigma is computed once, not per batch.
  FrozenSpectralNorm frozen_sn_;
};

// Every batch of the run to every sink, then finish(). On an error the sinks not yet finished are
// left to their destructors (which remove their unfinished output) and the error propagates.
void run_samples(GeneratorImpl& G, LatentSource& latents, const std::vector<SampleSink*>& sinks,
                 const SampleRunOptions& options = {});

}  // namespace biggan
