// numpy's .npy / .npz files (np.save, np.savez, np.savez_compressed): used for Inception moments
// (`mu` [d], `sigma` [d,d] float64) and sample files (`x`, `y`). Supported dtypes: f4 f8 i1 i2 i4 i8
// u1 b1 (also f2); headers v1/v2/v3; C or Fortran order on reading (always C on writing); big-endian
// data is byte-swapped on reading; written files are little-endian and atomic.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace biggan::npz {

// Arrays in file order, named without the ".npy" suffix.
using Arrays = std::vector<std::pair<std::string, torch::Tensor>>;

Arrays load(const std::string& path);
// Atomically writes an uncompressed .npz (np.savez layout).
void save(const std::string& path, const Arrays& arrays);

// The array called `name`; a clear error naming the file and the arrays present if it is missing.
const torch::Tensor& get(const Arrays& arrays, const std::string& name, const std::string& path);

// One .npy image: parse (errors name `what`) and produce.
torch::Tensor parse_npy(const std::string& bytes, const std::string& what);
std::string to_npy(const torch::Tensor& t);
// The header to_npy puts before the data of an array of that dtype and shape (C order).
std::string npy_header(c10::ScalarType dtype, c10::IntArrayRef shape);

// numpy's array data as a tensor of its dtype and shape: `descr` as in a .npy header ("<f4", "|u1",
// ">f8"; big-endian data is byte-swapped), C or Fortran order; `nbytes` must be exactly what the
// shape and dtype need. Errors (dtype, sizes) name `what`. Shared by .npy files and the ndarrays a
// torch file may pickle (serialization/pickle.cpp).
torch::Tensor numpy_array(const std::string& descr, const std::vector<int64_t>& shape, bool fortran, const char* data,
                          size_t nbytes, const std::string& what);

// Single .npy files.
torch::Tensor load_npy(const std::string& path);
void save_npy(const std::string& path, const torch::Tensor& t);

}  // namespace biggan::npz
