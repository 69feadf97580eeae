#include "libbiggan/serialization/npz.h"

#include <algorithm>
#include <cstring>

#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan::npz {
namespace {

struct DtypeInfo {
  char kind;
  int size;
  c10::ScalarType type;
};
const DtypeInfo kDtypes[] = {{'f', 4, c10::kFloat}, {'f', 8, c10::kDouble}, {'f', 2, c10::kHalf},
                             {'i', 1, c10::kChar},  {'i', 2, c10::kShort},  {'i', 4, c10::kInt},
                             {'i', 8, c10::kLong},  {'u', 1, c10::kByte},   {'b', 1, c10::kBool}};

std::string descr_of(c10::ScalarType t) {
  for (auto& d : kDtypes)
    if (d.type == t) return std::string(d.size == 1 ? "|" : "<") + d.kind + std::to_string(d.size);
  throw Error(std::string("npy: dtype ") + c10::toString(t) + " cannot be written (f4 f8 f2 i1 i2 i4 i8 u1 b1 only)");
}

// Skips spaces; returns the position of the value after "'key':" in a numpy header dict.
size_t value_of(const std::string& h, const std::string& key, const std::string& what) {
  for (const char* q : {"'", "\""}) {
    auto k = h.find(q + key + q);
    if (k == std::string::npos) continue;
    auto colon = h.find(':', k + key.size() + 2);
    if (colon == std::string::npos) break;
    size_t p = colon + 1;
    while (p < h.size() && h[p] == ' ') ++p;
    return p;
  }
  throw input_error(what, "npy header lacks '" + key + "'");
}

// The header's shape tuple at p.
std::vector<int64_t> parse_shape(const std::string& h, size_t p, const std::string& what) {
  if (p >= h.size() || h[p] != '(') throw input_error(what, "npy: bad shape");
  auto close = h.find(')', p);
  if (close == std::string::npos) throw input_error(what, "npy: bad shape");
  std::vector<int64_t> shape;
  for (size_t i = p + 1; i < close;) {
    while (i < close && (h[i] == ' ' || h[i] == ',')) ++i;
    if (i >= close) break;
    if (h[i] < '0' || h[i] > '9') throw input_error(what, "npy: bad shape");
    uint64_t v = 0;
    while (i < close && h[i] >= '0' && h[i] <= '9') {
      v = v * 10 + uint64_t(h[i++] - '0');
      if (v > (uint64_t(1) << 48)) throw input_error(what, "npy: dimension too large");
    }
    if (i < close && h[i] == 'L') ++i;  // python 2 longs
    shape.push_back(int64_t(v));
  }
  return shape;
}

const DtypeInfo& dtype_info(const std::string& descr, const std::string& what) {
  if (descr.size() >= 3) {
    const char order = descr[0], kind = descr[1];
    const int size = std::atoi(descr.c_str() + 2);
    if (order == '<' || order == '>' || order == '|' || order == '=')
      for (auto& d : kDtypes)
        if (d.kind == kind && d.size == size && descr == std::string(1, order) + kind + std::to_string(size)) return d;
  }
  throw input_error(what, "numpy: unsupported dtype '" + descr + "' (f4 f8 f2 i1 i2 i4 i8 u1 b1 only)");
}

}  // namespace

torch::Tensor parse_npy(const std::string& b, const std::string& what) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw input_error(what, "not a .npy array (bad magic)");
  int major = uint8_t(b[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = uint8_t(b[8]) | (uint8_t(b[9]) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) throw input_error(what, "truncated .npy header");
    hlen = size_t(uint8_t(b[8])) | (size_t(uint8_t(b[9])) << 8) | (size_t(uint8_t(b[10])) << 16) |
           (size_t(uint8_t(b[11])) << 24);
    hstart = 12;
  } else {
    throw input_error(what, "unsupported .npy version " + std::to_string(major));
  }
  if (hlen > b.size() - hstart) throw input_error(what, "truncated .npy header");
  const std::string h = b.substr(hstart, hlen);

  size_t p = value_of(h, "descr", what);
  if (p >= h.size() || (h[p] != '\'' && h[p] != '"')) throw input_error(what, "npy: descr is not a simple dtype string");
  auto end = h.find(h[p], p + 1);
  if (end == std::string::npos) throw input_error(what, "npy: bad descr");
  const std::string descr = h.substr(p + 1, end - p - 1);
  dtype_info(descr, what);  // before the rest of the header: its first error is the dtype's

  p = value_of(h, "fortran_order", what);
  bool fortran = h.compare(p, 4, "True") == 0;
  if (!fortran && h.compare(p, 5, "False") != 0) throw input_error(what, "npy: bad fortran_order");
  const size_t after = p + (fortran ? 4 : 5);  // "Truee" is not True
  if (after < h.size() && h[after] != ',' && h[after] != ' ' && h[after] != '}')
    throw input_error(what, "npy: bad fortran_order");

  const std::vector<int64_t> shape = parse_shape(h, value_of(h, "shape", what), what);
  const size_t data_start = hstart + hlen;
  return numpy_array(descr, shape, fortran, b.data() + data_start, b.size() - data_start, what);
}

torch::Tensor numpy_array(const std::string& descr, const std::vector<int64_t>& shape, bool fortran, const char* data,
                          size_t nbytes, const std::string& what) {
  const DtypeInfo& info = dtype_info(descr, what);
  const uint64_t size = uint64_t(info.size);
  // count: elements; extent: the product of the non-zero dimensions, bounded too, because LibTorch
  // sizes even an empty tensor's storage from all of them (fuzz_npy: (0, 20, 777777777779, ...)).
  uint64_t count = 1, extent = 1;
  for (const int64_t d : shape) {
    if (d < 0 || uint64_t(d) > (uint64_t(1) << 48)) throw input_error(what, "numpy: dimension out of range");
    const uint64_t v = uint64_t(d);
    if (v && extent > (uint64_t(1) << 56) / v) throw input_error(what, "numpy: array too large");
    if (v) extent *= v;
    count *= v;
  }
  if (nbytes != count * size)
    throw input_error(what, "numpy: data holds " + std::to_string(nbytes) + " bytes, shape and dtype need " +
                                std::to_string(count * size) + " (truncated or corrupt)");
  std::vector<int64_t> alloc_shape = shape;
  if (fortran) std::reverse(alloc_shape.begin(), alloc_shape.end());
  auto t = torch::empty(alloc_shape, torch::TensorOptions().dtype(info.type));
  if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);  // empty: data_ptr() is null
  if (descr[0] == '>' && size > 1) {  // byte-swap big-endian data
    auto u = static_cast<unsigned char*>(t.data_ptr());
    for (uint64_t i = 0; i < count; ++i) std::reverse(u + i * size, u + (i + 1) * size);
  }
  if (info.type == c10::kBool) {  // numpy bools are 0/1 bytes; normalise anything else
    auto u = static_cast<unsigned char*>(t.data_ptr());
    for (uint64_t i = 0; i < count; ++i) u[i] = u[i] != 0;
  }
  if (fortran && t.dim() > 1) {
    std::vector<int64_t> perm;
    for (int64_t i = t.dim() - 1; i >= 0; --i) perm.push_back(i);
    t = t.permute(perm).contiguous();
  }
  return t;
}

std::string npy_header(c10::ScalarType dtype, c10::IntArrayRef sizes) {
  std::string shape = "(";
  for (size_t i = 0; i < sizes.size(); ++i) shape += std::to_string(sizes[i]) + (sizes.size() == 1 ? "," : i + 1 < sizes.size() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '" + descr_of(dtype) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces and a newline so that the data starts on a 64-byte boundary, as numpy does.
  size_t pre = 10;
  size_t total = pre + header.size() + 1;
  bool v2 = total + 63 > 65535 + 10;
  if (v2) pre = 12, total = pre + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(v2 ? 2 : 1);
  out += char(0);
  size_t hl = header.size();
  out += char(hl & 0xFF);
  out += char((hl >> 8) & 0xFF);
  if (v2) {
    out += char((hl >> 16) & 0xFF);
    out += char((hl >> 24) & 0xFF);
  }
  out += header;
  return out;
}

std::string to_npy(const torch::Tensor& t0) {
  if (!t0.defined()) throw Error("npy: cannot write an undefined tensor");
  auto t = t0.to(torch::kCPU).contiguous();
  std::string out = npy_header(t.scalar_type(), t.sizes());
  out.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  return out;
}

Arrays load(const std::string& path) {
  zip::Reader zip(path);
  Arrays out;
  for (auto& e : zip.entries()) {
    if (!e.name.empty() && e.name.back() == '/') continue;  // folder entries
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    out.emplace_back(name, parse_npy(zip.read(e), path + ":" + e.name));
  }
  return out;
}

void save(const std::string& path, const Arrays& arrays) {
  std::vector<std::string> images;
  for (auto& [name, t] : arrays) {
    if (name.empty()) throw input_error(path, "npz: empty array name");
    try {
      images.push_back(to_npy(t));
    } catch (const Error& e) {
      throw input_error(path, std::string(e.what()) + " (array " + name + ")");
    }
  }
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    zip::Writer zip(tmp.string());
    for (size_t i = 0; i < arrays.size(); ++i) zip.add(arrays[i].first + ".npy", images[i]);
    zip.finish();
  });
}

const torch::Tensor& get(const Arrays& arrays, const std::string& name, const std::string& path) {
  std::string names;
  for (auto& [n, t] : arrays) {
    if (n == name) return t;
    names += (names.empty() ? "" : ", ") + n;
  }
  throw input_error(path, "no array '" + name + "' (has: " + names + ")");
}

torch::Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

void save_npy(const std::string& path, const torch::Tensor& t) { write_file_atomically(path, to_npy(t)); }

}  // namespace biggan::npz
