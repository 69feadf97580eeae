#include "libbiggan/serialization/hdf5_file.h"

#include <algorithm>
#include <filesystem>

#include "libbiggan/util/error.h"
#include "libbiggan/util/provenance.h"

namespace biggan::h5 {
namespace {

// Closes an HDF5 handle with the right function when it leaves scope.
struct Handle {
  hid_t id;
  herr_t (*closer)(hid_t);
  Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), closer(c) {}
  ~Handle() {
    if (id >= 0) closer(id);
  }
  operator hid_t() const { return id; }
};

}  // namespace

void quiet_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

File File::open_read(const std::string& path) {
  quiet_errors();
  if (!std::filesystem::exists(path)) throw input_error(path, "no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw input_error(path, "not an HDF5 file");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) throw input_error(path, "cannot open HDF5 file (truncated or corrupt?)");
  return File(id, path);
}

File File::open_rw(const std::string& path) {
  quiet_errors();
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (id < 0) throw input_error(path, "cannot open HDF5 file for writing");
  return File(id, path);
}

File File::create(const std::string& path) {
  quiet_errors();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) throw input_error(path, "cannot create HDF5 file (directory missing or not writable?)");
  File f(id, path);
  // Every HDF5 file we write says who wrote it (util/provenance.h), as root attributes.
  const auto who = provenance();
  f.set_attr("/", "biggan_tool", who.tool);
  f.set_attr("/", "biggan_version", who.version);
  f.set_attr("/", "biggan_command_line", who.command_line);
  return f;
}

File::File(File&& o) noexcept : id_(o.id_), path_(std::move(o.path_)) { o.id_ = -1; }
File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    close();
    id_ = o.id_;
    path_ = std::move(o.path_);
    o.id_ = -1;
  }
  return *this;
}
File::~File() { close(); }

void File::close() {
  if (id_ >= 0) H5Fclose(id_);
  id_ = -1;
}

void File::flush() {
  if (id_ >= 0) H5Fflush(id_, H5F_SCOPE_GLOBAL);
}

bool File::exists(const std::string& name) const {
  if (name == "/" || name.empty()) return true;
  // Check each path component so that a missing parent is not an HDF5 error.
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    size_t next = name.find('/', pos + 1);
    partial = name.substr(0, next);
    if (!partial.empty() && partial != "/" && H5Lexists(id_, partial.c_str(), H5P_DEFAULT) <= 0)
      return false;
    pos = next;
  }
  return H5Oexists_by_name(id_, name.c_str(), H5P_DEFAULT) > 0;
}

bool File::is_group(const std::string& name) const {
  if (!exists(name)) return false;
  H5O_info_t info;
#if H5_VERSION_GE(1, 12, 0)
  if (H5Oget_info_by_name3(id_, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return false;
#else
  if (H5Oget_info_by_name(id_, name.c_str(), &info, H5P_DEFAULT) < 0) return false;
#endif
  return info.type == H5O_TYPE_GROUP;
}

std::vector<std::string> File::list(const std::string& group) const {
  if (!is_group(group)) throw input_error(path_, "no group '" + group + "'");
  Handle g(H5Gopen2(id_, group.c_str(), H5P_DEFAULT), H5Gclose);
  std::vector<std::string> names;
  H5Literate(
      g, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &names);
  std::sort(names.begin(), names.end());
  return names;
}

hid_t native_type(c10::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return H5T_NATIVE_FLOAT;
    case torch::kFloat64: return H5T_NATIVE_DOUBLE;
    case torch::kUInt8: return H5T_NATIVE_UINT8;
    case torch::kInt8: return H5T_NATIVE_INT8;
    case torch::kInt16: return H5T_NATIVE_INT16;
    case torch::kInt32: return H5T_NATIVE_INT32;
    case torch::kInt64: return H5T_NATIVE_INT64;
    case torch::kBool: return H5T_NATIVE_HBOOL;
    default: throw Error(std::string("HDF5: unsupported tensor dtype ") + c10::toString(t));
  }
}

c10::ScalarType scalar_type_of(hid_t t, const std::string& what) {
  H5T_class_t cls = H5Tget_class(t);
  size_t size = H5Tget_size(t);
  if (cls == H5T_FLOAT) {
    if (size == 4) return torch::kFloat32;
    if (size == 8) return torch::kFloat64;
  } else if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(t) == H5T_SGN_2;
    if (size == 1) return is_signed ? torch::kInt8 : torch::kUInt8;
    if (size == 2 && is_signed) return torch::kInt16;
    if (size == 4 && is_signed) return torch::kInt32;
    if (size == 8 && is_signed) return torch::kInt64;
    if (size == 4 || size == 8) return torch::kInt64;  // unsigned 32/64: widen
  } else if (cls == H5T_ENUM && size == 1) {
    return torch::kBool;  // h5py stores numpy bools as an 8-bit enum
  }
  throw Error(what + ": unsupported HDF5 element type (class " + std::to_string(cls) + ", " +
              std::to_string(size) + " bytes)");
}

std::vector<int64_t> File::shape(const std::string& dataset) const {
  if (!exists(dataset) || is_group(dataset)) throw input_error(path_, "no dataset '" + dataset + "'");
  Handle d(H5Dopen2(id_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (d < 0) throw input_error(path_, "cannot open dataset '" + dataset + "'");
  Handle s(H5Dget_space(d), H5Sclose);
  int rank = H5Sget_simple_extent_ndims(s);
  std::vector<hsize_t> dims(std::max(rank, 0));
  H5Sget_simple_extent_dims(s, dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

torch::Tensor File::read(const std::string& dataset) const {
  auto dims = shape(dataset);
  return read_rows(dataset, 0, dims.empty() ? -1 : dims[0]);
}

torch::Tensor File::read_rows(const std::string& dataset, int64_t start, int64_t count) const {
  auto dims = shape(dataset);
  const std::string what = path_ + ":" + dataset;
  Handle d(H5Dopen2(id_, dataset.c_str(), H5P_DEFAULT), H5Dclose);
  Handle ftype(H5Dget_type(d), H5Tclose);
  auto dtype = scalar_type_of(ftype, what);
  if (dims.empty()) {  // scalar dataset
    auto t = torch::empty({}, torch::TensorOptions().dtype(dtype));
    if (H5Dread(d, native_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0)
      throw input_error(what, "read failed (truncated or corrupt file?)");
    return t;
  }
  if (start < 0 || count < 0 || start + count > dims[0])
    throw input_error(what, "rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                                ") out of range for " + std::to_string(dims[0]) + " rows");
  std::vector<int64_t> out_dims = dims;
  out_dims[0] = count;
  // LibTorch sizes even an empty tensor from every dimension: refuse extents it would overflow on.
  uint64_t extent = 1;
  for (int64_t d : out_dims)
    if (d > 0 && extent > (uint64_t(1) << 56) / uint64_t(d))
      throw input_error(what, "dataset shape " + c10::str(c10::IntArrayRef(dims)) + " is too large");
    else if (d > 0)
      extent *= uint64_t(d);
  auto t = torch::empty(out_dims, torch::TensorOptions().dtype(dtype));
  if (count == 0) return t;
  Handle fspace(H5Dget_space(d), H5Sclose);
  std::vector<hsize_t> off(dims.size(), 0), cnt(dims.begin(), dims.end());
  off[0] = static_cast<hsize_t>(start);
  cnt[0] = static_cast<hsize_t>(count);
  H5Sselect_hyperslab(fspace, H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr);
  Handle mspace(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), H5Sclose);
  if (H5Dread(d, native_type(dtype), mspace, fspace, H5P_DEFAULT, t.data_ptr()) < 0)
    throw input_error(what, "read failed (truncated or corrupt file?)");
  return t;
}

void File::write(const std::string& dataset, const torch::Tensor& tensor, int64_t chunk_rows,
                 int gzip_level) {
  auto t = tensor.detach().to(torch::kCPU).contiguous();
  std::vector<hsize_t> dims(t.sizes().begin(), t.sizes().end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl, 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!dims.empty() && dims[0] > 0 && (chunk_rows > 0 || gzip_level > 0)) {
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(std::min<int64_t>(chunk_rows > 0 ? chunk_rows : 64, dims[0]));
    H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
    if (gzip_level > 0) H5Pset_deflate(dcpl, static_cast<unsigned>(gzip_level));
  }
  hid_t type = native_type(t.scalar_type());
  Handle d(H5Dcreate2(id_, dataset.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
  if (d < 0) throw input_error(path_, "cannot create dataset '" + dataset + "'");
  if (H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data_ptr()) < 0)
    throw input_error(path_, "cannot write dataset '" + dataset + "' (disk full?)");
}

bool File::has_attr(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  return H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

double File::attr_double(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name))
    throw input_error(path_, "no attribute '" + name + "' on '" + object + "'");
  Handle a(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  double v = 0;
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0)
    throw input_error(path_, "attribute '" + name + "' on '" + object + "' is not a number");
  return v;
}

std::string File::attr_string(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name))
    throw input_error(path_, "no attribute '" + name + "' on '" + object + "'");
  Handle a(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING)
    throw input_error(path_, "attribute '" + name + "' on '" + object + "' is not a string");
  if (H5Tis_variable_str(type) > 0) {
    char* buf = nullptr;
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    if (H5Aread(a, mem, &buf) < 0) throw input_error(path_, "cannot read attribute '" + name + "'");
    std::string s = buf ? buf : "";
    H5free_memory(buf);
    return s;
  }
  size_t n = H5Tget_size(type);
  std::string s(n, '\0');
  if (H5Aread(a, type, s.data()) < 0) throw input_error(path_, "cannot read attribute '" + name + "'");
  s.resize(std::strlen(s.c_str()));
  return s;
}

void File::set_attr(const std::string& object, const std::string& name, double value) {
  if (has_attr(object, name)) H5Adelete_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle a(H5Acreate_by_name(id_, object.c_str(), name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                             H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose);
  if (a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &value) < 0)
    throw input_error(path_, "cannot write attribute '" + name + "'");
}

void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  if (has_attr(object, name)) H5Adelete_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  Handle a(H5Acreate_by_name(id_, object.c_str(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT),
           H5Aclose);
  const char* p = value.c_str();
  if (a < 0 || H5Awrite(a, type, &p) < 0) throw input_error(path_, "cannot write attribute '" + name + "'");
}

}  // namespace biggan::h5
