#include "libbiggan/data/idx_file.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

#include "libbiggan/util/error.h"

namespace fs = std::filesystem;

namespace biggan::data {
namespace {

// 2^40 bytes: far beyond any real IDX data set, small enough that no size computation overflows.
constexpr uint64_t kMaxIdxElements = uint64_t(1) << 40;

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

}  // namespace

IdxArray read_idx_ubyte(const fs::path& file) {
  if (!fs::exists(file)) throw input_error(file.string(), "no such file");
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz) throw input_error(file.string(), "cannot open");
  struct Closer {
    gzFile g;
    ~Closer() { gzclose(g); }
  } closer{gz};
  auto read_exact = [&](void* buf, size_t n) {
    size_t got = 0;
    while (got < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(gz, static_cast<uint8_t*>(buf) + got, chunk);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  uint8_t magic[4];
  if (!read_exact(magic, 4)) throw input_error(file.string(), "too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0 || magic[3] > 8)
    throw input_error(file.string(), "not an IDX file (bad magic number)");
  if (magic[2] != 0x08)
    throw input_error(file.string(), "IDX element type " + std::to_string(magic[2]) + " is not unsigned byte (0x08)");
  IdxArray out;
  uint64_t total = 1;
  for (int i = 0; i < magic[3]; ++i) {
    uint8_t b[4];
    if (!read_exact(b, 4)) throw input_error(file.string(), "truncated IDX header");
    int64_t d = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    out.dims.push_back(d);
    // Up to eight 32-bit sizes: the product can overflow 64 bits, so check before multiplying.
    if (d > 0 && total > kMaxIdxElements / uint64_t(d))
      throw input_error(file.string(), "IDX header declares " + dims_text(out.dims) +
                                           " elements, more than the " + std::to_string(kMaxIdxElements) +
                                           " this reader accepts (corrupt header?)");
    total *= uint64_t(d);
  }
  // The header is not trusted with the allocation: the buffer grows (doubling, from 1 MB) as data
  // arrives, so a file that declares more than it holds fails as truncated having allocated at most
  // about twice what it really holds.
  for (uint64_t done = 0; done < total;) {
    const uint64_t n = std::min(total - done, std::max<uint64_t>(uint64_t(1) << 20, done));
    out.data.resize(size_t(done + n));
    if (!read_exact(out.data.data() + done, size_t(n)))
      throw input_error(file.string(), "truncated: the header declares " + dims_text(out.dims) + " = " +
                                           std::to_string(total) + " elements, the file holds fewer");
    done += n;
  }
  return out;
}

IdxSplitFiles find_idx_split(const fs::path& folder, const std::string& split) {
  std::string prefix;
  if (split == "train") prefix = "train";
  else if (split == "test") prefix = "t10k";
  else throw Error("--split must be train or test, not '" + split + "'");
  auto find = [&](const std::string& stem) {
    for (const char* suffix : {"", ".gz"}) {
      fs::path p = folder / (stem + suffix);
      if (fs::exists(p)) return p;
    }
    throw input_error(folder.string(), "no " + stem + " or " + stem + ".gz (an IDX folder like /usr/share/datasets/fashion-mnist)");
  };
  return {find(prefix + "-images-idx3-ubyte"), find(prefix + "-labels-idx1-ubyte")};
}

std::vector<std::string> idx_class_names(const fs::path& folder, int64_t num_classes) {
  std::string name = fs::absolute(folder).lexically_normal().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("fashion") != std::string::npos && num_classes <= 10)
    return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  std::vector<std::string> out;
  for (int64_t i = 0; i < num_classes; ++i) out.push_back(std::to_string(i));
  return out;
}

}  // namespace biggan::data
