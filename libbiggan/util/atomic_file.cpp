#include "libbiggan/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "libbiggan/util/error.h"

namespace biggan {
namespace {

std::string errno_text() { return std::strerror(errno); }

// The writer's message names the temp file; the user knows only the target.
std::string rename_in_message(std::string msg, const std::string& tmp, const std::string& target) {
  for (size_t at; (at = msg.find(tmp)) != std::string::npos;) msg.replace(at, tmp.size(), target);
  return msg;
}

const char* kTempTag = ".tmp";

}  // namespace

void fsync_path(const std::filesystem::path& path) {
  const bool is_dir = std::filesystem::is_directory(path);
  int fd = ::open(path.c_str(), O_RDONLY | (is_dir ? O_DIRECTORY : 0));
  if (fd < 0) throw input_error(path.string(), "cannot open to sync: " + errno_text());
  if (::fsync(fd) != 0 && !(is_dir && errno == EINVAL)) {
    const std::string why = errno_text();
    ::close(fd);
    throw input_error(path.string(), "fsync failed: " + why);
  }
  if (::close(fd) != 0) throw input_error(path.string(), "close after fsync failed: " + errno_text());
}

void rename_file(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw input_error(to.string(), "cannot move " + from.filename().string() + " into place: " + errno_text());
}

bool is_temp_file_of(const std::string& name, const std::string& target_name) {
  const std::string prefix = "." + target_name + kTempTag;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  return name.find_first_not_of("0123456789", prefix.size()) == std::string::npos;
}

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write) {
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device rd;
  auto tmp = dir / ("." + path.filename().string() + kTempTag + std::to_string(rd() % 1000000));
  try {
    try {
      write(tmp);
    } catch (const Error& e) {
      throw Error(rename_in_message(e.what(), tmp.string(), path.string()));
    }
    fsync_path(tmp);
    rename_file(tmp, path);
    fsync_path(dir);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw input_error(path.string(), "cannot open for writing: " + errno_text());
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? errno_text() : "no progress";
        ::close(fd);
        throw input_error(path.string(), "write failed: " + why);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) throw input_error(path.string(), "write failed on close: " + errno_text());
  });
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string(), "cannot open (missing or unreadable)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace biggan
