#include "libbiggan/serialization/zip_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "libbiggan/util/error.h"

namespace biggan::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kEnd64Sig = 0x06064b50, kEnd64LocatorSig = 0x07064b50;
constexpr uint32_t k32Max = 0xFFFFFFFFu;
// Deflate cannot expand data by more than about 1032:1, so a larger declared size is a lie (or a bomb).
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24); }
uint64_t le64(const unsigned char* p) { return uint64_t(le32(p)) | (uint64_t(le32(p + 4)) << 32); }

}  // namespace

uint32_t crc32(const void* data, uint64_t size, uint32_t crc) {
  auto p = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes uInt lengths
    uInt n = uInt(std::min<uint64_t>(size, 1u << 30));
    crc = uint32_t(::crc32(crc, p, n));
    p += n;
    size -= n;
  }
  return crc;
}

bool has_zip_magic(const std::string& b) {
  return b.size() >= 4 && b[0] == 'P' && b[1] == 'K' &&
         ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

// ---------------------------------------------------------------------------------------------
// Reader

Reader::Reader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw input_error(path, "not a regular file");
  }
  file_size_ = uint64_t(st.st_size);
  try {
    index();
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

void Reader::pread_exact(uint64_t offset, void* dst, uint64_t size, const char* what) const {
  if (offset > file_size_ || size > file_size_ - offset)
    throw input_error(path_, std::string("zip: ") + what + " lies past the end of the file (truncated?)");
  auto p = static_cast<char*>(dst);
  while (size > 0) {
    ssize_t n = ::pread(fd_, p, std::min<uint64_t>(size, 1u << 30), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw input_error(path_, std::string("zip: read error in ") + what);
    p += n;
    offset += uint64_t(n);
    size -= uint64_t(n);
  }
}

// Finds the end-of-central-directory record (and its zip64 form), then reads every central entry.
// Longer than our usual ~80 lines on purpose: each offset and size read from the file is checked
// against the file's bounds right where it is read, and one reading order keeps those checks visible.
void Reader::index() {
  if (file_size_ < 22) throw input_error(path_, "zip: file too small to be a zip archive (truncated?)");
  // The end-of-central-directory record sits in the last 22 + (up to 65535 comment) bytes.
  uint64_t tail_len = std::min<uint64_t>(file_size_, 22 + 65535 + 20);
  std::string tail(tail_len, '\0');
  pread_exact(file_size_ - tail_len, tail.data(), tail_len, "end of central directory");
  auto t = reinterpret_cast<const unsigned char*>(tail.data());
  int64_t eocd = -1;
  for (int64_t p = int64_t(tail_len) - 22; p >= 0; --p) {
    if (le32(t + p) == kEndSig && uint64_t(p) + 22 + le16(t + p + 20) <= tail_len) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw input_error(path_, "zip: no end-of-central-directory record (truncated or not a zip)");
  const unsigned char* e = t + eocd;
  uint64_t n_entries = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  if (le16(e + 4) != 0 || le16(e + 6) != 0) throw input_error(path_, "zip: multi-disk archives are not supported");
  if (n_entries == 0xFFFF || cd_size == k32Max || cd_offset == k32Max) {
    if (eocd < 20 || le32(e - 20) != kEnd64LocatorSig)
      throw input_error(path_, "zip: zip64 archive without its zip64 locator");
    uint64_t e64_off = le64(e - 20 + 8);
    unsigned char e64[56];
    pread_exact(e64_off, e64, 56, "zip64 end of central directory");
    if (le32(e64) != kEnd64Sig) throw input_error(path_, "zip: bad zip64 end-of-central-directory signature");
    n_entries = le64(e64 + 32);
    cd_size = le64(e64 + 40);
    cd_offset = le64(e64 + 48);
  }
  if (cd_offset > file_size_ || cd_size > file_size_ - cd_offset)
    throw input_error(path_, "zip: central directory lies past the end of the file (truncated?)");
  if (n_entries > cd_size / 46) throw input_error(path_, "zip: entry count does not fit the central directory");
  central_dir_offset_ = cd_offset;

  std::string cd(cd_size, '\0');
  pread_exact(cd_offset, cd.data(), cd_size, "central directory");
  auto c = reinterpret_cast<const unsigned char*>(cd.data());
  uint64_t pos = 0;
  entries_.reserve(n_entries);
  for (uint64_t i = 0; i < n_entries; ++i) {
    if (pos + 46 > cd_size || le32(c + pos) != kCentralSig)
      throw input_error(path_, "zip: corrupt central directory (entry " + std::to_string(i) + ")");
    const unsigned char* h = c + pos;
    Entry en;
    uint16_t flags = le16(h + 8);
    en.method = le16(h + 10);
    en.crc32 = le32(h + 16);
    en.compressed_size = le32(h + 20);
    en.uncompressed_size = le32(h + 24);
    uint64_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
    en.local_header_offset = le32(h + 42);
    if (pos + 46 + name_len + extra_len + comment_len > cd_size)
      throw input_error(path_, "zip: corrupt central directory (entry " + std::to_string(i) + " overruns it)");
    en.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
    // zip64 extra: the 8-byte values for the fields that are saturated in the header, in order.
    const unsigned char* x = h + 46 + name_len;
    for (uint64_t xp = 0; xp + 4 <= extra_len;) {
      uint16_t id = le16(x + xp), len = le16(x + xp + 2);
      if (xp + 4 + len > extra_len) break;
      if (id == 1) {
        const unsigned char* z = x + xp + 4;
        uint64_t zl = len, zp = 0;
        auto take = [&](uint64_t& field) {
          if (field != k32Max) return;
          if (zp + 8 > zl) throw input_error(path_, "zip: short zip64 extra field in " + en.name);
          field = le64(z + zp);
          zp += 8;
        };
        take(en.uncompressed_size);
        take(en.compressed_size);
        take(en.local_header_offset);
      }
      xp += 4 + len;
    }
    if (flags & 1) throw input_error(path_, "zip: encrypted entry " + en.name + " is not supported");
    if (en.method != 0 && en.method != 8)
      throw input_error(path_, "zip: entry " + en.name + " uses unsupported compression method " +
                                   std::to_string(en.method));
    if (en.method == 0 && en.compressed_size != en.uncompressed_size)
      throw input_error(path_, "zip: stored entry " + en.name + " has different compressed and plain sizes");
    if (en.local_header_offset > cd_offset || en.compressed_size > cd_offset - en.local_header_offset)
      throw input_error(path_, "zip: entry " + en.name + " lies outside the data area (truncated or corrupt)");
    if (en.method == 8 && en.uncompressed_size > (en.compressed_size + 64) * kMaxDeflateRatio)
      throw input_error(path_, "zip: entry " + en.name + " declares an impossible decompressed size");
    entries_.push_back(std::move(en));
    pos += 46 + name_len + extra_len + comment_len;
  }
}

const Entry* Reader::find(const std::string& name) const {
  for (auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

uint64_t Reader::data_offset(const Entry& e) const {
  unsigned char h[30];
  pread_exact(e.local_header_offset, h, 30, ("local header of " + e.name).c_str());
  if (le32(h) != kLocalSig) throw input_error(path_, "zip: bad local header signature for " + e.name);
  // The local header must agree with the central directory (name, method, and the CRC and sizes
  // unless they are deferred to a data descriptor), so that corruption there is detected too.
  uint16_t name_len = le16(h + 26);
  std::string name(name_len, '\0');
  pread_exact(e.local_header_offset + 30, name.data(), name_len, ("local header of " + e.name).c_str());
  bool deferred = le16(h + 6) & 8;
  uint32_t lcrc = le32(h + 14), lcsize = le32(h + 18), lusize = le32(h + 22);
  if (name != e.name || le16(h + 8) != e.method ||
      (!deferred && (lcrc != e.crc32 ||
                     (lcsize != k32Max && lcsize != e.compressed_size) ||
                     (lusize != k32Max && lusize != e.uncompressed_size))))
    throw input_error(path_, "zip: local header of " + e.name + " disagrees with the central directory (corrupt)");
  uint64_t off = e.local_header_offset + 30 + name_len + le16(h + 28);
  if (off > central_dir_offset_ || e.compressed_size > central_dir_offset_ - off)
    throw input_error(path_, "zip: data of " + e.name + " lies outside the data area (truncated or corrupt)");
  return off;
}

void Reader::read_into(const Entry& e, void* dst, uint64_t size) const {
  if (size != e.uncompressed_size)
    throw input_error(path_, "zip: entry " + e.name + " holds " + std::to_string(e.uncompressed_size) +
                                 " bytes, expected " + std::to_string(size));
  uint64_t off = data_offset(e);
  if (e.method == 0) {
    pread_exact(off, dst, size, e.name.c_str());
  } else {
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw input_error(path_, "zip: zlib init failed");
    std::string in;
    uint64_t left = e.compressed_size, out_done = 0;
    int rc = Z_OK;
    auto out = static_cast<Bytef*>(dst);
    while (rc != Z_STREAM_END) {
      if (zs.avail_in == 0 && left > 0) {
        uint64_t n = std::min<uint64_t>(left, 1 << 20);
        in.resize(n);
        pread_exact(off, in.data(), n, e.name.c_str());
        off += n;
        left -= n;
        zs.next_in = reinterpret_cast<Bytef*>(in.data());
        zs.avail_in = uInt(n);
      }
      uint64_t room = size - out_done;
      zs.next_out = out + out_done;
      zs.avail_out = uInt(std::min<uint64_t>(room, 1u << 30));
      uInt before = zs.avail_out;
      rc = inflate(&zs, Z_NO_FLUSH);
      out_done += before - zs.avail_out;
      if (rc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) rc = Z_DATA_ERROR;  // input ran out
      if (rc == Z_BUF_ERROR && out_done == size) rc = Z_DATA_ERROR;                // more data than declared
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        throw input_error(path_, "zip: corrupt deflate data in " + e.name);
      }
    }
    inflateEnd(&zs);
    if (out_done != size) throw input_error(path_, "zip: entry " + e.name + " inflates to the wrong size");
  }
  if (crc32(dst, size) != e.crc32)
    throw input_error(path_, "zip: CRC mismatch in " + e.name + " (the file is corrupt)");
}

void Reader::verify(const Entry& e) const {
  if (e.method != 0) {  // deflated entries are small in practice (and their size is bounded)
    read(e);
    return;
  }
  uint64_t off = data_offset(e), left = e.uncompressed_size;
  std::string buf(std::min<uint64_t>(left, 1 << 20), '\0');
  uint32_t crc = 0;
  while (left > 0) {
    uint64_t n = std::min<uint64_t>(left, buf.size());
    pread_exact(off, buf.data(), n, e.name.c_str());
    crc = crc32(buf.data(), n, crc);
    off += n;
    left -= n;
  }
  if (crc != e.crc32) throw input_error(path_, "zip: CRC mismatch in " + e.name + " (the file is corrupt)");
}

std::string Reader::read(const Entry& e) const {
  std::string out(e.uncompressed_size, '\0');
  read_into(e, out.data(), out.size());
  return out;
}

std::string Reader::read(const std::string& name) const {
  const Entry* e = find(name);
  if (!e) throw input_error(path_, "zip: no entry named " + name);
  return read(*e);
}

// ---------------------------------------------------------------------------------------------
// Writer

}  // namespace biggan::zip
