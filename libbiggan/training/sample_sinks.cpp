#include "libbiggan/training/sample_sinks.h"

#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/training/sampling.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"

namespace biggan {

namespace fs = std::filesystem;

Hdf5SampleSink::Hdf5SampleSink(const fs::path& path, const SampleShape& shape,
                               std::vector<std::pair<std::string, std::string>> attributes)
    : file_(path), attributes_(std::move(attributes)) {
  try {
    h5_ = std::make_unique<h5::File>(h5::File::create(file_.temp().string()));
    h5::create_fixed(*h5_, "images", torch::kFloat32, {shape.count, 3, shape.resolution, shape.resolution});
    h5::create_fixed(*h5_, "z", torch::kFloat32, {shape.count, shape.dim_z});
    h5::create_fixed(*h5_, "y", torch::kInt64, {shape.count});
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
}

// Closes the HDF5 handle before the temp file is removed.
Hdf5SampleSink::~Hdf5SampleSink() { h5_.reset(); }

void Hdf5SampleSink::write(const SampleBatch& b) {
  try {
    h5::write_rows(*h5_, "images", b.first, b.images);
    h5::write_rows(*h5_, "z", b.first, b.z);
    h5::write_rows(*h5_, "y", b.first, b.y);
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
}

void Hdf5SampleSink::finish() {
  try {
    for (const auto& [name, value] : attributes_) h5_->set_attr("/", name, value);
    h5_->close();
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
  file_.commit();
}

NpzSampleSink::NpzSampleSink(const fs::path& path, const SampleShape& shape) : file_(path) {
  try {
    const auto provenance = provenance_bytes();
    npz_ = std::make_unique<npz::StreamWriter>(
        file_.temp().string(),
        std::vector<npz::ArraySpec>{{"x", torch::kUInt8, {shape.count, 3, shape.resolution, shape.resolution}},
                                    {"y", torch::kInt64, {shape.count}},
                                    {"provenance", torch::kUInt8, {provenance.numel()}}});
    npz_->append(2, provenance);
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
}

// Closes the archive file before the temp file is removed.
NpzSampleSink::~NpzSampleSink() { npz_.reset(); }

void NpzSampleSink::write(const SampleBatch& b) {
  try {
    npz_->append(0, metrics::quantize_like_reference(b.images));
    npz_->append(1, b.y);
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
}

void NpzSampleSink::finish() {
  try {
    npz_->finish();
  } catch (const Error& e) {
    file_.rethrow_naming_target(e);
  }
  file_.commit();
}

StreamSampleSink::StreamSampleSink(std::ostream& out, metrics::SampleStreamHeader header)
    : stream_(out, header), uint8_(header.dtype == "uint8") {}

void StreamSampleSink::write(const SampleBatch& b) {
  stream_.write(uint8_ ? metrics::quantize_like_reference(b.images) : b.images, b.y);
}

void StreamSampleSink::finish() { stream_.finish(); }

SheetSampleSink::SheetSampleSink(const fs::path& png, int64_t size) : png_(png), size_(size) {
  if (size < 1) throw Error("a sample sheet needs at least one image");
}

void SheetSampleSink::write(const SampleBatch& b) {
  if (held_ >= size_) return;
  const int64_t k = std::min(b.images.size(0), size_ - held_);
  images_.push_back(b.images.slice(0, 0, k).clone());
  held_ += k;
}

void SheetSampleSink::finish() { save_random_sheet(torch::cat(images_), png_); }

void CollectSampleSink::write(const SampleBatch& b) {
  image_batches_.push_back(b.images);
  label_batches_.push_back(b.y);
}

void CollectSampleSink::finish() {
  images_ = torch::cat(image_batches_, 0);
  labels_ = torch::cat(label_batches_, 0);
  image_batches_.clear();
  label_batches_.clear();
}

}  // namespace biggan
