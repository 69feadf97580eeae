// A progress line on stderr: "label: done/total (pct) rate unit/s ETA m:ss". Redrawn in place with
// '\r' on a terminal, one line every few seconds otherwise; silent when disabled. Thread-safe update.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace biggan {

class ProgressMeter {
 public:
  ProgressMeter(std::string label, int64_t total, bool enabled, std::string unit = "images");
  // Sets the count done so far; redraws at most every 0.2 s (terminal) or 5 s (log).
  void update(int64_t done);
  // Final line with the overall rate (only if enabled).
  void finish(int64_t done);
  double elapsed_seconds() const;

 private:
  void draw(int64_t done, bool final);
  std::string label_, unit_;
  int64_t total_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

}  // namespace biggan
