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

void put16(std::string& s, uint16_t v) { s.push_back(char(v & 0xFF)); s.push_back(char(v >> 8)); }
void put32(std::string& s, uint32_t v) { for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xFF)); }
void put64(std::string& s, uint64_t v) { for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xFF)); }

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

Writer::Writer(const std::string& path, uint32_t alignment, bool force_zip64)
    : path_(path), alignment_(alignment), force_zip64_(force_zip64) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw input_error(path, std::string("cannot open for writing: ") + std::strerror(errno));
}

Writer::~Writer() {
  if (f_) std::fclose(f_);
}

void Writer::write(const void* data, uint64_t size) {
  if (size && std::fwrite(data, 1, size, f_) != size)
    throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
  offset_ += size;
}

void Writer::add(const std::string& name, const void* data, uint64_t size) {
  begin_entry(name, size);
  append_entry(data, size);
  end_entry();
}

// The local header goes out with a zero CRC; end_entry() writes the CRC into it once the data has
// passed (the bytes are the same as when the CRC is known up front).
void Writer::begin_entry(const std::string& name, uint64_t size) {
  if (finished_) throw Error("zip::Writer: add after finish");
  if (open_entry_) throw Error("zip::Writer: an entry is still open");
  if (name.size() > 0xFFFF) throw input_error(path_, "zip: entry name too long");
  Entry e;
  e.name = name;
  e.compressed_size = e.uncompressed_size = size;
  e.local_header_offset = offset_;
  bool big = size >= k32Max || force_zip64_;
  std::string h;
  put32(h, kLocalSig);
  put16(h, big ? 45 : 20);
  put16(h, 0);  // flags
  put16(h, 0);  // stored
  put16(h, 0);  // time
  put16(h, 0);  // date (as torch: 1980-00-00)
  put32(h, 0);  // CRC, written by end_entry
  put32(h, big ? k32Max : uint32_t(size));
  put32(h, big ? k32Max : uint32_t(size));
  put16(h, uint16_t(name.size()));
  std::string extra;
  if (big) {
    put16(extra, 1);
    put16(extra, 16);
    put64(extra, size);
    put64(extra, size);
  }
  if (alignment_ > 1) {  // pad with a private extra field ("FB", as torch) so the data is aligned
    uint64_t start = offset_ + 30 + name.size() + extra.size() + 4;
    uint64_t pad = (alignment_ - start % alignment_) % alignment_;
    put16(extra, 0x4246);
    put16(extra, uint16_t(pad));
    extra.append(pad, 'Z');
  }
  put16(h, uint16_t(extra.size()));
  h += name;
  h += extra;
  write(h.data(), h.size());
  entries_.push_back(std::move(e));
  open_entry_ = true;
  entry_written_ = 0;
}

void Writer::append_entry(const void* data, uint64_t size) {
  if (!open_entry_) throw Error("zip::Writer: no open entry");
  Entry& e = entries_.back();
  if (size > e.uncompressed_size - entry_written_)
    throw input_error(path_, "zip: entry " + e.name + " is given more than its " + std::to_string(e.uncompressed_size) + " bytes");
  e.crc32 = crc32(data, size, e.crc32);
  write(data, size);
  entry_written_ += size;
}

void Writer::end_entry() {
  if (!open_entry_) throw Error("zip::Writer: no open entry");
  const Entry& e = entries_.back();
  if (entry_written_ != e.uncompressed_size)
    throw input_error(path_, "zip: entry " + e.name + " got " + std::to_string(entry_written_) + " of its " +
                                 std::to_string(e.uncompressed_size) + " bytes");
  std::string crc;
  put32(crc, e.crc32);
  const auto at = static_cast<off_t>(e.local_header_offset + 14);
  if (::fseeko(f_, at, SEEK_SET) != 0 || std::fwrite(crc.data(), 1, 4, f_) != 4 ||
      ::fseeko(f_, static_cast<off_t>(offset_), SEEK_SET) != 0)
    throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
  open_entry_ = false;
}

void Writer::finish() {
  if (finished_) return;
  if (open_entry_) throw Error("zip::Writer: finish with an entry still open");
  uint64_t cd_offset = offset_;
  std::string cd;
  for (auto& e : entries_) {
    std::string extra;
    bool big_size = e.uncompressed_size >= k32Max || force_zip64_;
    bool big_off = e.local_header_offset >= k32Max || force_zip64_;
    if (big_size || big_off) {
      put16(extra, 1);
      put16(extra, uint16_t((big_size ? 16 : 0) + (big_off ? 8 : 0)));
      if (big_size) {
        put64(extra, e.uncompressed_size);
        put64(extra, e.compressed_size);
      }
      if (big_off) put64(extra, e.local_header_offset);
    }
    put32(cd, kCentralSig);
    put16(cd, (big_size || big_off) ? 45 : 20);  // made by
    put16(cd, (big_size || big_off) ? 45 : 20);  // needed
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0);
    put32(cd, e.crc32);
    put32(cd, big_size ? k32Max : uint32_t(e.compressed_size));
    put32(cd, big_size ? k32Max : uint32_t(e.uncompressed_size));
    put16(cd, uint16_t(e.name.size()));
    put16(cd, uint16_t(extra.size()));
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0);  // external attributes
    put32(cd, big_off ? k32Max : uint32_t(e.local_header_offset));
    cd += e.name;
    cd += extra;
  }
  uint64_t n = entries_.size(), cd_size = cd.size();
  std::string end;
  bool z64 = n >= 0xFFFF || cd_offset >= k32Max || cd_size >= k32Max || force_zip64_;
  if (z64) {
    uint64_t e64_off = cd_offset + cd_size;
    put32(end, kEnd64Sig);
    put64(end, 44);
    put16(end, 45);
    put16(end, 45);
    put32(end, 0);
    put32(end, 0);
    put64(end, n);
    put64(end, n);
    put64(end, cd_size);
    put64(end, cd_offset);
    put32(end, kEnd64LocatorSig);
    put32(end, 0);
    put64(end, e64_off);
    put32(end, 1);
  }
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, z64 ? 0xFFFF : uint16_t(n));
  put16(end, z64 ? 0xFFFF : uint16_t(n));
  put32(end, z64 ? k32Max : uint32_t(cd_size));
  put32(end, z64 ? k32Max : uint32_t(cd_offset));
  put16(end, 0);
  write(cd.data(), cd.size());
  write(end.data(), end.size());
  finished_ = true;
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) throw input_error(path_, std::string("write failed on close: ") + std::strerror(errno));
}

}  // namespace biggan::zip
