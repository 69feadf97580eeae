#include "libbiggan/serialization/npz_stream.h"

#include <cerrno>
#include <cstring>

#include "libbiggan/serialization/npz.h"
#include "libbiggan/util/error.h"

namespace biggan::npz {
namespace {

int64_t row_count(const ArraySpec& a) { return a.shape.empty() ? 1 : a.shape[0]; }

uint64_t data_bytes(const ArraySpec& a) {
  uint64_t n = c10::elementSize(a.dtype);
  for (auto d : a.shape) n *= static_cast<uint64_t>(d);
  return n;
}

uint64_t member_bytes(const ArraySpec& a) { return npy_header(a.dtype, a.shape).size() + data_bytes(a); }

}  // namespace

StreamWriter::StreamWriter(const std::string& path, std::vector<ArraySpec> arrays)
    : path_(path), arrays_(std::move(arrays)), rows_written_(arrays_.size(), 0), spools_(arrays_.size(), nullptr),
      zip_(path) {
  if (arrays_.empty()) throw input_error(path_, "npz: no arrays to write");
  for (size_t i = 1; i < arrays_.size(); ++i) {
    spools_[i] = std::tmpfile();
    if (!spools_[i]) throw input_error(path_, std::string("npz: cannot make a temporary file: ") + std::strerror(errno));
  }
  const auto& first = arrays_[0];
  zip_.begin_entry(first.name + ".npy", member_bytes(first));
  const auto header = npy_header(first.dtype, first.shape);
  zip_.append_entry(header.data(), header.size());
}

StreamWriter::~StreamWriter() {
  for (auto* f : spools_)
    if (f) std::fclose(f);
}

void StreamWriter::append(size_t index, const torch::Tensor& rows) {
  if (index >= arrays_.size()) throw Error("npz::StreamWriter: no array " + std::to_string(index));
  const auto& a = arrays_[index];
  auto t = rows.detach().to(torch::kCPU).contiguous();
  const bool fits = t.scalar_type() == a.dtype && !a.shape.empty() && t.dim() == static_cast<int64_t>(a.shape.size()) &&
                    std::equal(a.shape.begin() + 1, a.shape.end(), t.sizes().begin() + 1);
  if (!fits)
    throw input_error(path_, "npz: rows " + std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes()) +
                                 " do not fit array " + a.name);
  if (rows_written_[index] + t.size(0) > row_count(a))
    throw input_error(path_, "npz: array " + a.name + " is given more than its " + std::to_string(row_count(a)) + " rows");
  if (index == 0) {
    zip_.append_entry(t.data_ptr(), t.nbytes());
  } else if (t.nbytes() > 0 && std::fwrite(t.data_ptr(), 1, t.nbytes(), spools_[index]) != t.nbytes()) {
    throw input_error(path_, std::string("npz: temporary file write failed: ") + std::strerror(errno));
  }
  rows_written_[index] += t.size(0);
}

void StreamWriter::finish() {
  for (size_t i = 0; i < arrays_.size(); ++i)
    if (rows_written_[i] != row_count(arrays_[i]))
      throw input_error(path_, "npz: array " + arrays_[i].name + " got " + std::to_string(rows_written_[i]) + " of its " +
                                   std::to_string(row_count(arrays_[i])) + " rows");
  zip_.end_entry();
  std::vector<char> buffer(1 << 20);
  for (size_t i = 1; i < arrays_.size(); ++i) {
    const auto& a = arrays_[i];
    zip_.begin_entry(a.name + ".npy", member_bytes(a));
    const auto header = npy_header(a.dtype, a.shape);
    zip_.append_entry(header.data(), header.size());
    std::rewind(spools_[i]);
    for (uint64_t left = data_bytes(a); left > 0;) {
      const size_t n = std::fread(buffer.data(), 1, std::min<uint64_t>(left, buffer.size()), spools_[i]);
      if (n == 0) throw input_error(path_, std::string("npz: temporary file read failed: ") + std::strerror(errno));
      zip_.append_entry(buffer.data(), n);
      left -= n;
    }
    zip_.end_entry();
  }
  zip_.finish();
}

}  // namespace biggan::npz
