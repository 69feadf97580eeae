#include "libbiggan/training/collapse_watchdog.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "libbiggan/util/error.h"
#include "libbiggan/util/json.h"

namespace biggan {
namespace {

std::string format(const char* fmt, double a, double b, double c) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

CollapseWatchdog::CollapseWatchdog(CollapseThresholds t) : t_(t) {
  if (t_.window < 2 || t_.sv_history < 1 || !(t_.frozen_tolerance >= 0) || !(t_.d_loss_floor >= 0) || !(t_.g_loss_rise >= 0) ||
      !(t_.sv_jump > 1) || !(t_.score_turn > 1))
    throw Error("collapse watchdog: thresholds out of range (window >= 2, d_loss_floor >= 0, g_loss_rise >= 0, "
                "sv_jump > 1, score_turn > 1)");
}

std::optional<CollapseEvent> CollapseWatchdog::fire(CollapseEvent e) {
  if (fired_) return std::nullopt;
  fired_ = true;
  return e;
}

std::optional<CollapseEvent> CollapseWatchdog::on_losses(int64_t itr, double G_loss, double D_loss_real,
                                                         double D_loss_fake) {
  loss_window_.push_back({G_loss, D_loss_real, D_loss_fake});
  if (int64_t(loss_window_.size()) > t_.window) loss_window_.pop_front();
  if (int64_t(loss_window_.size()) == t_.window && !fired_) {
    double spread = 0;
    for (int k = 0; k < 3; ++k) {
      auto [lo, hi] = std::minmax_element(loss_window_.begin(), loss_window_.end(),
                                          [k](const auto& a, const auto& b) { return a[k] < b[k]; });
      spread = std::max(spread, (*hi)[k] - (*lo)[k]);
    }
    if (spread <= t_.frozen_tolerance)
      return fire({itr, std::max<int64_t>(0, itr - t_.window), "frozen",
                   format("G_loss %.6g, D_loss_real %.6g, D_loss_fake %.6g", G_loss, D_loss_real, D_loss_fake) +
                       " unchanged over the last " + std::to_string(t_.window) + " iterations (D outputs a constant)"});
  }
  g_window_.push_back(G_loss);
  d_window_.push_back(D_loss_real + D_loss_fake);
  g_sum_ += G_loss;
  d_sum_ += D_loss_real + D_loss_fake;
  if (int64_t(g_window_.size()) > t_.window) {
    g_sum_ -= g_window_.front();
    d_sum_ -= d_window_.front();
    g_window_.pop_front();
    d_window_.pop_front();
  }
  if (int64_t(g_window_.size()) < t_.window) return std::nullopt;
  const double g_mean = g_sum_ / double(t_.window), d_mean = d_sum_ / double(t_.window);
  if (!g_lowest_set_ || g_mean < g_lowest_mean_) g_lowest_mean_ = g_mean, g_lowest_set_ = true;
  if (fired_ || d_mean >= t_.d_loss_floor || g_mean < g_lowest_mean_ + t_.g_loss_rise) return std::nullopt;
  return fire({itr, std::max<int64_t>(0, itr - 2 * t_.window), "losses",
               format("D_loss_real + D_loss_fake averaged %.4g over the last window (floor %.4g) while G_loss "
                      "averaged %.4g",
                      d_mean, t_.d_loss_floor, g_mean) +
                   format(" (its lowest window mean %.4g + rise %.4g)", g_lowest_mean_, t_.g_loss_rise, 0)});
}

std::optional<CollapseEvent> CollapseWatchdog::on_singular_values(
    int64_t itr, const std::vector<std::pair<std::string, double>>& svs) {
  std::optional<CollapseEvent> found;
  for (const auto& [key, value] : svs) {
    if (key.rfind("G_", 0) != 0 || !std::isfinite(value)) continue;
    auto& history = sv_history_[key];
    if (int64_t(history.size()) >= t_.sv_history && !found && !fired_) {
      const double m = median(std::vector<double>(history.begin(), history.end()));
      if (m > 0 && value > t_.sv_jump * m)
        found = CollapseEvent{itr, 0, "singular_values",
                              key + format(" = %.4g, %.3gx the median %.4g of its previous values", value, value / m, m)};
    }
    history.push_back(value);
    if (int64_t(history.size()) > t_.sv_history) history.pop_front();
  }
  const int64_t previous = last_sv_itr_;
  last_sv_itr_ = itr;
  if (!found) return std::nullopt;
  found->onset_itr = previous;
  return fire(*found);
}

std::optional<CollapseEvent> CollapseWatchdog::on_test(int64_t itr, double fid, double is_mean) {
  const bool have_fid = std::isfinite(fid), have_is = std::isfinite(is_mean) && is_mean > 0;
  if (!have_fid && !have_is) return std::nullopt;
  const bool first = best_itr_ == 0 && best_fid_ == 0 && best_is_ == 0;
  const bool better = first || (have_fid ? fid < best_fid_ : is_mean > best_is_);
  if (better) {
    if (have_fid) best_fid_ = fid;
    if (have_is) best_is_ = is_mean;
    best_itr_ = itr;
    turned_tests_ = 0;
    return std::nullopt;
  }
  const bool turned = have_fid ? fid > t_.score_turn * best_fid_ : is_mean * t_.score_turn < best_is_;
  if (!turned) {
    turned_tests_ = 0;
    return std::nullopt;
  }
  if (++turned_tests_ < 2) return std::nullopt;
  const std::string what = have_fid ? format("FID %.4g, %.3gx the best %.4g", fid, fid / best_fid_, best_fid_)
                                    : format("IS %.4g, the best %.4g divided by %.3g", is_mean, best_is_, best_is_ / is_mean);
  return fire({itr, best_itr_, "score", what + " (itr " + std::to_string(best_itr_) + "), two tests in a row"});
}

std::optional<CollapseEvent> scan_collapse_logs(const std::filesystem::path& train_log,
                                                const std::filesystem::path& sv_log,
                                                const std::filesystem::path& test_log, CollapseThresholds t) {
  // Records by iteration; at one iteration the losses come first, then SVs, then the test (the
  // trainer's order).
  std::map<std::pair<int64_t, int>, Json> records;
  int logs = 0;
  auto read = [&](const std::filesystem::path& p, int kind) {
    if (!std::filesystem::exists(p)) return;
    std::ifstream in(p);
    if (!in) throw input_error(p.string(), "cannot open");
    ++logs;
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      Json j = Json::parse(line, p.string() + ":" + std::to_string(n));
      if (!j.is_object() || !j.contains("itr") || !j["itr"].is_int())
        throw input_error(p.string() + ":" + std::to_string(n), "a record without an integer \"itr\"");
      records[{j["itr"].as_int(), kind}] = j;
    }
  };
  read(train_log, 0);
  read(sv_log, 1);
  read(test_log, 2);
  if (logs == 0) throw input_error(train_log.string(), "no training, SV or test log to scan (none exists)");
  CollapseWatchdog w(t);
  auto number = [](const Json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].as_double() : std::nan("");
  };
  for (const auto& [at, j] : records) {
    std::optional<CollapseEvent> e;
    if (at.second == 0) {
      e = w.on_losses(at.first, number(j, "G_loss"), number(j, "D_loss_real"), number(j, "D_loss_fake"));
    } else if (at.second == 1) {
      std::vector<std::pair<std::string, double>> svs;
      for (const auto& kv : j.items())
        if (kv.first != "itr" && kv.second.is_number()) svs.emplace_back(kv.first, kv.second.as_double());
      e = w.on_singular_values(at.first, svs);
    } else {
      e = w.on_test(at.first, number(j, "FID"), number(j, "IS_mean"));
    }
    if (e) return e;
  }
  return std::nullopt;
}

}  // namespace biggan
