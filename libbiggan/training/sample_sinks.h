// Where a sample run's batches go (see sample_run.h). Each file sink writes as the batches come
// (nothing but the current batch in memory), under a temp name that takes the target's name only in
// finish(); a sink destroyed unfinished (a failed run) removes its temp file, so no half-written
// output is ever left and an older file of that name stays as it was.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <iosfwd>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include "libbiggan/metrics/sample_stream.h"
#include "libbiggan/serialization/hdf5_file.h"
#include "libbiggan/serialization/npz_stream.h"
#include "libbiggan/util/pending_file.h"
#include "libbiggan/training/sample_run.h"

namespace biggan {

// The size of every batch of a run: what file sinks need up front.
struct SampleShape {
  int64_t count = 0;       // rows in all
  int64_t resolution = 0;  // images are 3×R×R
  int64_t dim_z = 0;
};

// gan-sample's --output: HDF5 with images [N, 3, R, R] float32, z [N, dim_z] float32 and y [N] int64
// (contiguous datasets, as h5::File::write makes them, filled row by row) and string attributes on
// the root group.
class Hdf5SampleSink : public SampleSink {
 public:
  Hdf5SampleSink(const std::filesystem::path& path, const SampleShape& shape,
                 std::vector<std::pair<std::string, std::string>> attributes);
  ~Hdf5SampleSink() override;
  void write(const SampleBatch& batch) override;
  void finish() override;

 private:
  PendingFile file_;
  std::unique_ptr<h5::File> h5_;
  std::vector<std::pair<std::string, std::string>> attributes_;
};

// The reference's samples .npz (--sample_npz): x uint8 [N, 3, R, R] (quantize_like_reference) and
// y int64 [N], the same bytes as npz::save of the whole arrays.
class NpzSampleSink : public SampleSink {
 public:
  NpzSampleSink(const std::filesystem::path& path, const SampleShape& shape);
  ~NpzSampleSink() override;
  void write(const SampleBatch& batch) override;
  void finish() override;

 private:
  PendingFile file_;
  std::unique_ptr<npz::StreamWriter> npz_;
};

// The msgpack sample stream (for fid / inception-moments): the header frame at construction, one
// frame a batch (float32 as made, or uint8 quantized as the npz), the end frame in finish().
class StreamSampleSink : public SampleSink {
 public:
  StreamSampleSink(std::ostream& out, metrics::SampleStreamHeader header);
  void write(const SampleBatch& batch) override;
  void finish() override;

 private:
  metrics::SampleStreamWriter stream_;
  bool uint8_;
};

// The random sample sheet (save_random_sheet) of the first `size` images; keeps only those.
class SheetSampleSink : public SampleSink {
 public:
  SheetSampleSink(const std::filesystem::path& png, int64_t size);
  void write(const SampleBatch& batch) override;
  void finish() override;
  int64_t held() const { return held_; }

 private:
  std::filesystem::path png_;
  int64_t size_, held_ = 0;
  std::vector<torch::Tensor> images_;
};

// Keeps every image and label: for scorers that need the whole set at once (the Fashion-MNIST
// classifier's ClassifierScorer). Memory grows with the run, unlike every other sink.
class CollectSampleSink : public SampleSink {
 public:
  void write(const SampleBatch& batch) override;
  void finish() override;
  const torch::Tensor& images() const { return images_; }  // [N, 3, R, R] after finish()
  const torch::Tensor& labels() const { return labels_; }  // [N] after finish()

 private:
  std::vector<torch::Tensor> image_batches_, label_batches_;
  torch::Tensor images_, labels_;
};

}  // namespace biggan
