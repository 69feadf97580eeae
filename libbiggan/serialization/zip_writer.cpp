// zip::Writer (zip_archive.h): stored entries, 64-byte aligned data, zip64 when sizes or offsets
// need it; entries whole (add) or piece by piece with the CRC computed as they go.
#include <cerrno>
#include <cstring>

#include "libbiggan/serialization/zip_archive.h"
#include "libbiggan/util/error.h"

namespace biggan::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kEnd64Sig = 0x06064b50, kEnd64LocatorSig = 0x07064b50;
constexpr uint32_t k32Max = 0xFFFFFFFFu;

void put16(std::string& s, uint16_t v) { s.push_back(char(v & 0xFF)); s.push_back(char(v >> 8)); }
void put32(std::string& s, uint32_t v) { for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xFF)); }
void put64(std::string& s, uint64_t v) { for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xFF)); }

}  // namespace

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
