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

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw input_error(path.string(), std::string("cannot open to sync: ") + std::strerror(errno));
  ::fsync(fd);
  ::close(fd);
}

void write_atomically(const std::filesystem::path& path,
                      const std::function<void(const std::filesystem::path& tmp)>& write) {
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::random_device rd;
  auto tmp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(rd() % 1000000));
  try {
    write(tmp);
    fsync_path(tmp);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw input_error(path.string(), "cannot rename temp file into place: " + ec.message());
    fsync_path(dir);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
  write_atomically(path, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw input_error(path.string(), "cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw input_error(path.string(), "write failed (disk full?)");
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
