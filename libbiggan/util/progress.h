// A progress line on stderr: "label: done/total unit (pct) rate unit/s ETA m:ss  detail" (without
// "/total (pct)" and ETA when the total is unknown, i.e. <= 0). Redrawn in place with '\r' on a
// terminal, one line every few seconds otherwise; silent when disabled. Thread-safe update.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace biggan {

class ProgressMeter {
 public:
  ProgressMeter(std::string label, int64_t total, bool enabled, std::string unit = "images");
  // Sets the count done so far and the text after the numbers (e.g. the current losses); redraws
  // at most every 0.2 s (terminal) or 5 s (log).
  void update(int64_t done, const std::string& detail = "");
  // Final line with the overall rate (only if enabled).
  void finish(int64_t done);
  double elapsed_seconds() const;
  // Counts from `first` on (a resumed run): rates and ETA use done - first.
  void set_start_count(int64_t first) { first_ = first; }

 private:
  void draw(int64_t done, bool final);
  std::string label_, unit_, detail_;
  int64_t first_ = 0;
  int64_t total_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::mutex mutex_;
};

}  // namespace biggan
