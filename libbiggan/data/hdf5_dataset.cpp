#include "libbiggan/data/hdf5_dataset.h"

#include <cstring>

#include "libbiggan/serialization/hdf5_rows.h"
#include "libbiggan/util/error.h"
#include "libbiggan/util/shape_text.h"

namespace biggan::data {
namespace {

bool is_integer(c10::ScalarType t) {
  return t == torch::kUInt8 || t == torch::kInt8 || t == torch::kInt16 || t == torch::kInt32 || t == torch::kInt64;
}

}  // namespace

HDF5Dataset::HDF5Dataset(const std::string& path, bool load_in_mem)
    : path_(path), in_memory_(load_in_mem), file_(h5::File::open_read(path)) {
  const char* hint = " (a training file from imagenet-to-hdf5 or make_hdf5.py has 'imgs' and 'labels')";
  for (const char* name : {"imgs", "labels"})
    if (!file_.exists(name) || file_.is_group(name))
      throw input_error(path, std::string("no dataset '") + name + "'" + hint);
  auto ishape = file_.shape("imgs");
  auto lshape = file_.shape("labels");
  if (ishape.size() != 4 || ishape[1] != 3)
    throw input_error(path, "'imgs' has shape " + shape_text(ishape) + ", expected [N, 3, H, W]");
  auto itype = h5::dataset_dtype(file_, "imgs");
  if (itype != torch::kUInt8)
    throw input_error(path, std::string("'imgs' has element type ") + c10::toString(itype) + ", expected uint8");
  if (lshape.size() != 1)
    throw input_error(path, "'labels' has shape " + shape_text(lshape) + ", expected [N]");
  auto ltype = h5::dataset_dtype(file_, "labels");
  if (!is_integer(ltype))
    throw input_error(path, std::string("'labels' has element type ") + c10::toString(ltype) + ", expected integers");
  if (ishape[0] != lshape[0])
    throw input_error(path, "'imgs' has " + std::to_string(ishape[0]) + " images but 'labels' has " +
                                std::to_string(lshape[0]) + " labels");
  n_ = ishape[0];
  h_ = ishape[2];
  w_ = ishape[3];
  if (n_ == 0) throw input_error(path, "the training set is empty");
  labels_ = file_.read("labels").to(torch::kInt64);
  if (labels_.min().item<int64_t>() < 0) throw input_error(path, "'labels' has negative class indices");
  num_classes_ = labels_.max().item<int64_t>() + 1;
  if (file_.has_attr("/", "classes")) class_names_ = h5::attr_strings(file_, "/", "classes");
  if (in_memory_) {
    images_ = torch::empty({n_, 3, h_, w_}, torch::kUInt8);
    // In slices, so that a huge file does not need a second full-size staging buffer.
    const int64_t step = std::max<int64_t>(1, (int64_t(256) << 20) / image_bytes());
    for (int64_t s = 0; s < n_; s += step) {
      int64_t k = std::min(step, n_ - s);
      images_.narrow(0, s, k).copy_(file_.read_rows("imgs", s, k));
    }
    file_.close();
  }
}

torch::Tensor HDF5Dataset::get(int64_t i) const { return get_batch({i}).squeeze(0); }

torch::Tensor HDF5Dataset::get_batch(const std::vector<int64_t>& indices) const {
  auto out = torch::empty({static_cast<int64_t>(indices.size()), 3, h_, w_}, torch::kUInt8);
  read_into(indices, out.data_ptr<uint8_t>());
  return out;
}

void HDF5Dataset::read_into(const std::vector<int64_t>& indices, uint8_t* out) const {
  for (int64_t i : indices)
    if (i < 0 || i >= n_)
      throw input_error(path_, "image index " + std::to_string(i) + " out of range for " + std::to_string(n_) + " images");
  if (in_memory_) {
    const uint8_t* src = images_.data_ptr<uint8_t>();
    const size_t row = static_cast<size_t>(image_bytes());
    for (size_t k = 0; k < indices.size(); ++k) std::memcpy(out + k * row, src + indices[k] * row, row);
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  h5::read_rows_at(file_, "imgs", indices, torch::kUInt8, out);
}

}  // namespace biggan::data
