// What one save of a weights folder consists of: every part's file name, size and CRC32, stored as
// the extra key "save_manifest" of its state_dict.pth (the reference reads only the keys it knows,
// so the file still loads there and in Python's torch.load). Written last, it lets a loader tell a
// complete save from a mix of two (a kill between renames, a file copied in by hand).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace biggan {

struct FileDigest {
  uint64_t bytes = 0;
  uint32_t crc32 = 0;
  bool operator==(const FileDigest& o) const { return bytes == o.bytes && crc32 == o.crc32; }
  std::string describe() const;  // "1234 bytes, crc32 0a1b2c3d"
};

// Reads the file in chunks; an unreadable file is an error naming it.
FileDigest digest_file(const std::filesystem::path& path);

struct SaveManifest {
  static constexpr const char* kKey = "save_manifest";
  std::map<std::string, FileDigest> files;  // file name in the folder ("G.pth") -> digest

  // Adds the manifest to a state_dict.pth dict.
  void add_to(c10::IValue& state_dict) const;
  // The manifest of a state_dict.pth's contents; nullopt for a save without one (the reference's,
  // or ours before manifests). A malformed one is an error naming `source`.
  static std::optional<SaveManifest> from_state(const c10::IValue& state_dict, const std::string& source);
};

// Checks `file` against what the manifest of `state_file` records for `name`: a mismatch is a
// one-line error naming the file, what was expected and what it holds.
void check_file_in_save(const SaveManifest& m, const std::string& name, const std::filesystem::path& file,
                        const std::filesystem::path& state_file);

}  // namespace biggan
