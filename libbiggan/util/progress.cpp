#include "libbiggan/util/progress.h"

#include <cstdio>

#include "libbiggan/util/cli.h"

namespace biggan {

ProgressMeter::ProgressMeter(std::string label, int64_t total, bool enabled, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(stderr_is_terminal()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressMeter::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressMeter::update(int64_t done, const std::string& detail) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  detail_ = detail;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.2 : 5.0)) return;
  last_draw_ = now;
  draw(done, false);
}

void ProgressMeter::finish(int64_t done) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mutex_);
  draw(done, true);
}

void ProgressMeter::draw(int64_t done, bool final) {
  const double t = elapsed_seconds();
  const double rate = t > 0 ? (done - first_) / t : 0.0;
  const bool known = total_ > 0;
  char eta[32] = "";
  if (!final && known && rate > 0 && total_ > done) {
    long s = static_cast<long>((total_ - done) / rate + 0.5);
    std::snprintf(eta, sizeof eta, " ETA %ld:%02ld", s / 60, s % 60);
  } else if (final) {
    std::snprintf(eta, sizeof eta, " in %.1f s", t);
  }
  char count[96];
  if (known)
    std::snprintf(count, sizeof count, "%lld/%lld %s (%.0f%%)", static_cast<long long>(done),
                  static_cast<long long>(total_), unit_.c_str(), 100.0 * done / total_);
  else
    std::snprintf(count, sizeof count, "%lld %s", static_cast<long long>(done), unit_.c_str());
  // Slow work (training iterations) needs decimals to show a rate at all.
  const int decimals = rate < 10 ? 2 : 0;
  std::fprintf(stderr, "%s%s: %s %.*f %s/s%s%s%s%s", tty_ ? "\r" : "", label_.c_str(), count, decimals, rate,
               unit_.c_str(), eta, detail_.empty() ? "" : "  ", detail_.c_str(), tty_ && !final ? "\x1b[K" : "\n");
  std::fflush(stderr);
}

}  // namespace biggan
