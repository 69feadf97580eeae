// Zip archives as torch.save (zip format) and np.savez use them: a reader that never trusts the file
// (every offset and size is checked against the file size, every entry's CRC32 is verified) and a
// writer of stored (uncompressed) entries whose data start on 64-byte boundaries, as torch's writer
// does, so that the storages can be mapped or read in place.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace biggan::zip {

struct Entry {
  std::string name;
  uint16_t method = 0;               // 0 stored, 8 deflate
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

// True when the bytes begin like a zip file ("PK\3\4" or an empty archive's "PK\5\6").
bool has_zip_magic(const std::string& first_bytes);

class Reader {
 public:
  // Opens and indexes the archive; a clear error if it is missing, not a zip, or malformed.
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  // Entries in central-directory order.
  const std::vector<Entry>& entries() const { return entries_; }
  // nullptr when there is no entry of that name.
  const Entry* find(const std::string& name) const;

  // The whole (decompressed) content of an entry, CRC checked.
  std::string read(const Entry& e) const;
  std::string read(const std::string& name) const;
  // Checks an entry's CRC (streaming, without holding it in memory); throws on a mismatch.
  void verify(const Entry& e) const;
  // Decompresses an entry into dst, which must hold exactly e.uncompressed_size bytes; CRC checked.
  void read_into(const Entry& e, void* dst, uint64_t size) const;

 private:
  void index();
  void pread_exact(uint64_t offset, void* dst, uint64_t size, const char* what) const;
  uint64_t data_offset(const Entry& e) const;

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t central_dir_offset_ = 0;
  std::vector<Entry> entries_;
};

// Writes a zip of stored entries to `path` (the caller makes it atomic). Entries larger than 4 GiB
// or archives past 4 GiB use the zip64 extensions (force_zip64 uses them throughout, for tests).
class Writer {
 public:
  explicit Writer(const std::string& path, uint32_t alignment = 64, bool force_zip64 = false);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void add(const std::string& name, const void* data, uint64_t size);
  void add(const std::string& name, const std::string& data) { add(name, data.data(), data.size()); }
  // An entry written piece by piece (its size known up front, its CRC computed as it goes): the same
  // bytes as add() of the whole. begin_entry, then append_entry until `size` bytes are in, then end_entry.
  void begin_entry(const std::string& name, uint64_t size);
  void append_entry(const void* data, uint64_t size);
  void end_entry();
  // Writes the central directory and closes the file; errors (disk full) are thrown here.
  void finish();

 private:
  void write(const void* data, uint64_t size);

  std::string path_;
  std::FILE* f_ = nullptr;
  uint32_t alignment_;
  bool force_zip64_;
  uint64_t offset_ = 0;
  std::vector<Entry> entries_;
  bool finished_ = false;
  bool open_entry_ = false;
  uint64_t entry_written_ = 0;  // bytes of the open entry so far
};

// CRC32 of a buffer (zlib's).
uint32_t crc32(const void* data, uint64_t size, uint32_t crc = 0);

}  // namespace biggan::zip
