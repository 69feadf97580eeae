// Crash-safe writes: data goes to a temp file beside the target, is fsync'ed, then renamed over it,
// so a reader sees either the old file or the complete new one, never a half-written file.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace biggan {

// Calls write(tmp_path) to produce the file, then fsyncs and renames tmp_path onto `path`.
// On any exception the temp file is removed and the old `path` (if any) is left untouched.
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

// The same for a byte buffer.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

// fsync a file or a directory by path (a rename is durable only after its directory is synced).
void fsync_path(const std::filesystem::path& path);

// Reads a whole file; a clear error if it cannot be opened.
std::string read_file(const std::filesystem::path& path);

}  // namespace biggan
