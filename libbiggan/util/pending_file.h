// An output file written over a whole run rather than in one call (write_atomically's case): it
// grows under a temp name beside its target (the name write_atomically uses, so that leftovers of a
// crash are recognised by is_temp_file_of) and takes the target's name only at commit(). Destroyed
// uncommitted, it removes the temp file: the target is then either the old file or absent.
#pragma once
#include <exception>
#include <filesystem>

namespace biggan {

class PendingFile {
 public:
  explicit PendingFile(std::filesystem::path target);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp() const { return temp_; }
  // fsyncs the temp file, renames it onto the target and fsyncs the folder.
  void commit();
  // Removes the temp file (nothing happens after a commit).
  void discard() noexcept;
  // A biggan::Error with the message of `error` (whatever writing the temp file threw), the temp
  // path in it replaced by the target's: the user knows only the target.
  [[noreturn]] void rethrow_naming_target(const std::exception& error) const;

 private:
  std::filesystem::path target_, temp_;
  bool committed_ = false;
};

}  // namespace biggan
