// Row-wise HDF5 access beyond h5::File's whole-dataset reads and writes: datasets that grow by
// appending rows (how make_hdf5.py writes training files: chunked along dim 0, resizable up to a
// maximum), gathers of arbitrary rows (random access for the training-set reader), and attributes
// that hold a list of strings (class names, skipped files).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "libbiggan/serialization/hdf5_file.h"

namespace biggan::h5 {

// Creates an empty dataset of `dtype` whose rows have `row_shape`, chunked as (chunk_rows, row_shape...)
// and resizable along dim 0 up to `max_rows` (-1: unlimited). chunk_rows is clamped to max_rows, as
// HDF5 requires. gzip_level > 0 adds the deflate filter (readable by every HDF5 reader, h5py included).
// Modification times are not stored, so that the same content gives the same bytes.
void create_appendable(File& file, const std::string& dataset, c10::ScalarType dtype,
                       const std::vector<int64_t>& row_shape, int64_t chunk_rows, int64_t max_rows,
                       int gzip_level);

// Appends rows (shape [k, row_shape...], the dataset's dtype) at the end of an appendable dataset.
void append_rows(File& file, const std::string& dataset, const torch::Tensor& rows);

// A dataset of fixed `shape` laid out as File::write lays it out (contiguous, no filters), its rows
// written later, piece by piece, with write_rows (a file of known size that is never held whole).
void create_fixed(File& file, const std::string& dataset, c10::ScalarType dtype, const std::vector<int64_t>& shape);

// Writes rows [start, start + k) of a dataset (rows: [k, row_shape...] of its dtype) in place.
void write_rows(File& file, const std::string& dataset, int64_t start, const torch::Tensor& rows);

// Element type of a dataset, without reading it.
c10::ScalarType dataset_dtype(const File& file, const std::string& dataset);

// Reads the given rows (any order, repeats allowed) of a dataset into `out`, which must hold
// rows.size() rows of the dataset's row size, converted to `mem_type` (an element type of the
// dataset's size). The rows are sorted and read run by run (one read per run of consecutive rows).
void read_rows_at(const File& file, const std::string& dataset, const std::vector<int64_t>& rows,
                  c10::ScalarType mem_type, void* out);

// An attribute holding a 1-D array of UTF-8 strings (h5py reads it as an array of str).
void set_attr_strings(File& file, const std::string& object, const std::string& name,
                      const std::vector<std::string>& values);
// Reads a string-array attribute (a scalar string attribute gives one element).
std::vector<std::string> attr_strings(const File& file, const std::string& object,
                                      const std::string& name);

}  // namespace biggan::h5
