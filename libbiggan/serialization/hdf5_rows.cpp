#include "libbiggan/serialization/hdf5_rows.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "libbiggan/util/error.h"

namespace biggan::h5 {
namespace {

// Closes an HDF5 handle with the right function when it leaves scope.
struct Handle {
  hid_t id;
  herr_t (*closer)(hid_t);
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), closer(c) {}
  Handle(const Handle&) = delete;
  ~Handle() {
    if (id >= 0) closer(id);
  }
  operator hid_t() const { return id; }
};

Handle open_dataset(const File& file, const std::string& dataset) {
  if (!file.exists(dataset) || file.is_group(dataset))
    throw input_error(file.path(), "no dataset '" + dataset + "'");
  Handle d(H5Dopen2(file.id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (d < 0) throw input_error(file.path(), "cannot open dataset '" + dataset + "'");
  return Handle(std::exchange(d.id, -1), H5Dclose);
}

std::vector<hsize_t> dims_of(hid_t space) {
  int rank = H5Sget_simple_extent_ndims(space);
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return dims;
}

}  // namespace

void create_appendable(File& file, const std::string& dataset, c10::ScalarType dtype,
                       const std::vector<int64_t>& row_shape, int64_t chunk_rows, int64_t max_rows,
                       int gzip_level) {
  std::vector<hsize_t> dims{0}, maxdims{max_rows < 0 ? H5S_UNLIMITED : static_cast<hsize_t>(max_rows)};
  for (auto d : row_shape) {
    dims.push_back(static_cast<hsize_t>(d));
    maxdims.push_back(static_cast<hsize_t>(d));
  }
  std::vector<hsize_t> chunk = dims;
  int64_t rows = std::max<int64_t>(1, chunk_rows);
  if (max_rows > 0) rows = std::min(rows, max_rows);
  chunk[0] = static_cast<hsize_t>(rows);
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl, 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
  if (gzip_level > 0) H5Pset_deflate(dcpl, static_cast<unsigned>(gzip_level));
  H5Pset_obj_track_times(dcpl, 0);
  Handle d(H5Dcreate2(file.id(), dataset.c_str(), native_type(dtype), space, lcpl, dcpl, H5P_DEFAULT),
           H5Dclose);
  if (d < 0) throw input_error(file.path(), "cannot create dataset '" + dataset + "'");
}

void create_fixed(File& file, const std::string& dataset, c10::ScalarType dtype, const std::vector<int64_t>& shape) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl, 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  Handle d(H5Dcreate2(file.id(), dataset.c_str(), native_type(dtype), space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
  if (d < 0) throw input_error(file.path(), "cannot create dataset '" + dataset + "'");
}

namespace {

// Writes t's rows at row `start` of an open dataset whose extent already covers them.
void write_rows_into(const File& file, hid_t d, const std::string& dataset, int64_t start, const torch::Tensor& t) {
  Handle fspace(H5Dget_space(d), H5Sclose);
  auto dims = dims_of(fspace);
  std::vector<hsize_t> off(dims.size(), 0), cnt = dims;
  off[0] = static_cast<hsize_t>(start);
  cnt[0] = static_cast<hsize_t>(t.size(0));
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), H5Sclose);
  if (H5Dwrite(d, native_type(t.scalar_type()), mspace, fspace, H5P_DEFAULT, t.data_ptr()) < 0)
    throw input_error(file.path(), "cannot write to dataset '" + dataset + "' (disk full?)");
}

// The dataset's dims after checking that `t` has its rank and row shape.
std::vector<hsize_t> check_rows(const File& file, hid_t d, const std::string& what, const torch::Tensor& t) {
  Handle space(H5Dget_space(d), H5Sclose);
  auto dims = dims_of(space);
  if (dims.empty() || t.dim() != static_cast<int64_t>(dims.size()))
    throw input_error(file.path(), what + ": rank mismatch");
  for (size_t i = 1; i < dims.size(); ++i)
    if (static_cast<int64_t>(dims[i]) != t.size(static_cast<int64_t>(i)))
      throw input_error(file.path(), what + ": row shape mismatch");
  return dims;
}

}  // namespace

void write_rows(File& file, const std::string& dataset, int64_t start, const torch::Tensor& rows) {
  auto t = rows.detach().to(torch::kCPU).contiguous();
  Handle d = open_dataset(file, dataset);
  auto dims = check_rows(file, d, "rows for '" + dataset + "'", t);
  if (start < 0 || start + t.size(0) > static_cast<int64_t>(dims[0]))
    throw input_error(file.path(), "rows " + std::to_string(start) + ".." + std::to_string(start + t.size(0) - 1) +
                                       " are outside '" + dataset + "' (" + std::to_string(dims[0]) + " rows)");
  if (t.size(0) > 0) write_rows_into(file, d, dataset, start, t);
}

void append_rows(File& file, const std::string& dataset, const torch::Tensor& rows) {
  auto t = rows.detach().to(torch::kCPU).contiguous();
  Handle d = open_dataset(file, dataset);
  auto dims = check_rows(file, d, "append to '" + dataset + "'", t);
  hsize_t k = static_cast<hsize_t>(t.size(0));
  if (k == 0) return;
  std::vector<hsize_t> new_dims = dims;
  new_dims[0] += k;
  if (H5Dset_extent(d, new_dims.data()) < 0)
    throw input_error(file.path(), "cannot grow dataset '" + dataset + "' (beyond its maximum size?)");
  write_rows_into(file, d, dataset, static_cast<int64_t>(dims[0]), t);
}

c10::ScalarType dataset_dtype(const File& file, const std::string& dataset) {
  Handle d = open_dataset(file, dataset);
  Handle type(H5Dget_type(d), H5Tclose);
  return scalar_type_of(type, file.path() + ":" + dataset);
}

void read_rows_at(const File& file, const std::string& dataset, const std::vector<int64_t>& rows,
                  c10::ScalarType mem_type, void* out) {
  if (rows.empty()) return;
  Handle d = open_dataset(file, dataset);
  Handle fspace(H5Dget_space(d), H5Sclose);
  auto dims = dims_of(fspace);
  if (dims.empty()) throw input_error(file.path(), "'" + dataset + "' is a scalar, not rows");
  const int64_t n = static_cast<int64_t>(dims[0]);
  size_t row_elems = 1;
  for (size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
  const size_t row_bytes = row_elems * c10::elementSize(mem_type);

  // Sorted unique rows, merged into runs of consecutive rows: one hyperslab per run.
  std::vector<int64_t> sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted.front() < 0 || sorted.back() >= n)
    throw input_error(file.path() + ":" + dataset,
                      "row " + std::to_string(sorted.front() < 0 ? sorted.front() : sorted.back()) +
                          " out of range for " + std::to_string(n) + " rows");
  const bool in_order = sorted.size() == rows.size() && std::equal(sorted.begin(), sorted.end(), rows.begin());
  std::vector<uint8_t> staging;
  uint8_t* target = static_cast<uint8_t*>(out);
  if (!in_order) {
    staging.resize(sorted.size() * row_bytes);
    target = staging.data();
  }
  // One read per run of consecutive rows: HDF5 handles a union of many hyperslabs very slowly
  // (hundreds of ms for a batch of 256 scattered rows), simple hyperslabs fast.
  std::vector<hsize_t> off(dims.size(), 0), cnt = dims;
  const hid_t mem_h5 = native_type(mem_type);
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] == sorted[j - 1] + 1) ++j;
    off[0] = static_cast<hsize_t>(sorted[i]);
    cnt[0] = static_cast<hsize_t>(j - i);
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr);
    Handle mspace(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), H5Sclose);
    if (H5Dread(d, mem_h5, mspace, fspace, H5P_DEFAULT, target + i * row_bytes) < 0)
      throw input_error(file.path() + ":" + dataset,
                        "read failed (truncated file, or a compression filter this HDF5 library lacks?)");
    i = j;
  }
  if (in_order) return;
  auto* dst = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t pos = std::lower_bound(sorted.begin(), sorted.end(), rows[i]) - sorted.begin();
    std::memcpy(dst + i * row_bytes, staging.data() + pos * row_bytes, row_bytes);
  }
}

void set_attr_strings(File& file, const std::string& object, const std::string& name,
                      const std::vector<std::string>& values) {
  if (file.has_attr(object, name)) H5Adelete_by_name(file.id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  Handle a(H5Acreate_by_name(file.id(), object.c_str(), name.c_str(), type, space, H5P_DEFAULT,
                             H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose);
  std::vector<const char*> ptrs;
  for (auto& v : values) ptrs.push_back(v.c_str());
  if (a < 0 || H5Awrite(a, type, ptrs.data()) < 0)
    throw input_error(file.path(), "cannot write attribute '" + name + "' (too large?)");
}

std::vector<std::string> attr_strings(const File& file, const std::string& object,
                                      const std::string& name) {
  if (!file.has_attr(object, name))
    throw input_error(file.path(), "no attribute '" + name + "' on '" + object + "'");
  Handle a(H5Aopen_by_name(file.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING)
    throw input_error(file.path(), "attribute '" + name + "' on '" + object + "' is not text");
  Handle space(H5Aget_space(a), H5Sclose);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  std::vector<std::string> out;
  if (n <= 0) return out;
  if (H5Tis_variable_str(type) > 0) {
    std::vector<char*> bufs(static_cast<size_t>(n), nullptr);
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (H5Aread(a, mem, bufs.data()) < 0)
      throw input_error(file.path(), "cannot read attribute '" + name + "'");
    for (char* b : bufs) {
      out.emplace_back(b ? b : "");
      H5free_memory(b);
    }
    return out;
  }
  size_t len = H5Tget_size(type);
  std::vector<char> buf(len * static_cast<size_t>(n) + 1, '\0');
  if (H5Aread(a, type, buf.data()) < 0) throw input_error(file.path(), "cannot read attribute '" + name + "'");
  for (hssize_t i = 0; i < n; ++i) {
    const char* p = buf.data() + i * len;
    out.emplace_back(p, strnlen(p, len));
  }
  return out;
}

}  // namespace biggan::h5
