// Crash-safe writes: data goes to a temp file beside the target, is fsync'ed, then renamed over it,
// so a reader sees either the old file or the complete new one, never a half-written file.
// Every write, fsync and close is checked: a failure (disk full, file size limit, I/O error) is an
// error naming the target file, and the old file is left as it was.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace biggan {

// Calls write(tmp_path) to produce the file, then fsyncs and renames tmp_path onto `path` and
// fsyncs the folder. On any exception the temp file is removed, the old `path` (if any) is left
// untouched, and the error names `path` (not the temp file).
void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write);

// The same for a byte buffer.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

// fsync a file or a directory by path (a rename is durable only after its directory is synced).
// A failed open, fsync or close is an error naming the path; a folder on a filesystem that cannot
// sync folders (EINVAL) is accepted.
void fsync_path(const std::filesystem::path& path);

// Renames `from` onto `to` (replacing it); an error names both.
void rename_file(const std::filesystem::path& from, const std::filesystem::path& to);

// True when `name` is one of write_atomically's temp files for a target named `target_name`.
bool is_temp_file_of(const std::string& name, const std::string& target_name);

// Reads a whole file; a clear error if it cannot be opened.
std::string read_file(const std::filesystem::path& path);

}  // namespace biggan
