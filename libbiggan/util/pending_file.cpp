#include "libbiggan/util/pending_file.h"

#include <random>
#include <string>

#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan {

namespace fs = std::filesystem;

PendingFile::PendingFile(fs::path target) : target_(std::move(target)) {
  const auto dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  std::random_device rd;
  temp_ = dir / ("." + target_.filename().string() + ".tmp" + std::to_string(rd() % 1000000));
}

PendingFile::~PendingFile() { discard(); }

void PendingFile::commit() {
  const auto dir = target_.has_parent_path() ? target_.parent_path() : fs::path(".");
  fsync_path(temp_);
  rename_file(temp_, target_);
  committed_ = true;
  fsync_path(dir);
}

void PendingFile::discard() noexcept {
  if (committed_) return;
  std::error_code ec;
  fs::remove(temp_, ec);
}

void PendingFile::rethrow_naming_target(const std::exception& error) const {
  std::string msg = error.what();
  const std::string tmp = temp_.string();
  for (size_t at; (at = msg.find(tmp)) != std::string::npos;) msg.replace(at, tmp.size(), target_.string());
  throw Error(msg);
}

}  // namespace biggan
