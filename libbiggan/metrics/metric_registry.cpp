#include "libbiggan/metrics/metric_registry.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "libbiggan/util/error.h"

namespace biggan::metrics {

const std::vector<MetricInfo>& metric_table() {
  static const std::vector<MetricInfo> table = {
      {Metric::kFid, "fid", "FID", "Frechet distance of the feature moments (exact, float64)"},
      {Metric::kIs, "is", "IS_mean, IS_std, IS_splits", "Inception Score from the network's softmax"},
      {Metric::kKid, "kid", "KID_mean, KID_std, KID_subsets, KID_subset_size", "Kernel Inception Distance"},
      {Metric::kPrecisionRecall, "pr", "precision, recall, pr_k",
       "improved precision / recall (Kynkaanniemi et al. 2019, k-NN balls, k = 3)"},
      {Metric::kDensityCoverage, "dc", "density, coverage, dc_k", "density / coverage (Naeem et al. 2020, k = 5)"},
      {Metric::kAccuracy, "accuracy", "conditional_accuracy, per_class_accuracy",
       "share of samples of class k the network calls k (labelled samples, a network with logits)"},
  };
  return table;
}

const MetricInfo& metric_info(Metric m) {
  for (const auto& info : metric_table())
    if (info.metric == m) return info;
  throw Error("metric_info: unknown metric");
}

std::string valid_metric_names() {
  std::string out;
  for (const auto& info : metric_table()) out += (out.empty() ? "" : ", ") + std::string(info.name);
  return out;
}

bool MetricSelection::has(Metric m) const { return std::find(metrics.begin(), metrics.end(), m) != metrics.end(); }

bool MetricSelection::needs_features() const {
  return has(Metric::kKid) || has(Metric::kPrecisionRecall) || has(Metric::kDensityCoverage);
}

std::string MetricSelection::names() const {
  std::string out;
  for (Metric m : metrics) out += (out.empty() ? "" : ",") + std::string(metric_info(m).name);
  return out;
}

namespace {

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t"), last = s.find_last_not_of(" \t");
  return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

// "fid10k" -> ("fid", 10000); "fid" -> ("fid", -1). The count is digits then 'k', at most 9 digits.
std::pair<std::string, int64_t> split_count(const std::string& entry) {
  if (entry.size() < 2 || entry.back() != 'k') return {entry, -1};
  size_t digits = entry.size() - 1;
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(entry[digits - 1]))) --digits;
  const size_t n = entry.size() - 1 - digits;
  if (n == 0 || n > 9 || digits == 0) return {entry, -1};
  return {entry.substr(0, digits), std::stoll(entry.substr(digits, n)) * 1000};
}

}  // namespace

MetricSelection parse_metrics(const std::string& list, const std::string& flag) {
  const std::string valid = "; valid: " + valid_metric_names() + " (each may end in a sample count, e.g. fid10k)";
  MetricSelection chosen;
  std::string count_from;  // the entry that set the sample count
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const size_t length = comma == std::string::npos ? std::string::npos : comma - start;
    const std::string entry = trimmed(list.substr(start, length));
    if (entry.empty()) throw Error(flag + ": an empty metric name in '" + list + "'" + valid);
    const auto [name, count] = split_count(entry);
    const MetricInfo* info = nullptr;
    for (const auto& i : metric_table())
      if (name == i.name) info = &i;
    if (!info) throw Error(flag + ": unknown metric '" + entry + "'" + valid);
    if (chosen.has(info->metric)) throw Error(flag + ": metric '" + name + "' named twice in '" + list + "'");
    if (count == 0) throw Error(flag + ": '" + entry + "' asks for no samples");
    if (count > 0) {
      if (chosen.num_samples > 0 && count != chosen.num_samples)
        throw Error(flag + ": " + count_from + " and " + entry +
                    " ask for different sample counts (one set of samples is scored)");
      chosen.num_samples = count;
      count_from = entry;
    }
    chosen.metrics.push_back(info->metric);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return chosen;
}

ScoreOptions score_options_for(const MetricSelection& chosen, ScoreOptions o) {
  o.kid = chosen.has(Metric::kKid);
  o.pr = chosen.has(Metric::kPrecisionRecall);
  o.dc = chosen.has(Metric::kDensityCoverage);
  o.accuracy = chosen.has(Metric::kAccuracy);
  return o;
}

bool has_metric(Metric m, const Scores& s) {
  switch (m) {
    case Metric::kFid: return s.has_fid;
    case Metric::kIs: return s.has_is;
    case Metric::kKid: return s.has_kid;
    case Metric::kPrecisionRecall: return s.has_pr;
    case Metric::kDensityCoverage: return s.has_dc;
    case Metric::kAccuracy: return s.has_labels;
  }
  return false;
}

void metric_to_json(Metric m, const Scores& s, Json& j) {
  if (!has_metric(m, s)) return;
  switch (m) {
    case Metric::kFid:
      j.set("FID", s.fid);
      if (s.fid_detail.singular) j.set("FID_warning", s.fid_detail.warning);
      break;
    case Metric::kIs:
      j.set("IS_mean", s.is.mean), j.set("IS_std", s.is.std), j.set("IS_splits", s.is.splits);
      break;
    case Metric::kKid:
      j.set("KID_mean", s.kid.mean), j.set("KID_std", s.kid.std), j.set("KID_subsets", s.kid.subsets);
      j.set("KID_subset_size", s.kid.subset_size);
      break;
    case Metric::kPrecisionRecall:
      j.set("precision", s.pr.precision), j.set("recall", s.pr.recall), j.set("pr_k", s.pr.k);
      break;
    case Metric::kDensityCoverage:
      j.set("density", s.dc.density), j.set("coverage", s.dc.coverage), j.set("dc_k", s.dc.k);
      break;
    case Metric::kAccuracy: accuracy_to_json(s, j); break;
  }
}

std::vector<std::string> metric_headline_keys(Metric m) {
  switch (m) {
    case Metric::kFid: return {"FID"};
    case Metric::kIs: return {"IS_mean"};
    case Metric::kKid: return {"KID_mean"};
    case Metric::kPrecisionRecall: return {"precision", "recall"};
    case Metric::kDensityCoverage: return {"density", "coverage"};
    case Metric::kAccuracy: return {"conditional_accuracy"};
  }
  return {};
}

std::string metric_text(Metric m, const Scores& s) {
  if (!has_metric(m, s)) return "";
  char line[256];
  switch (m) {
    case Metric::kFid: std::snprintf(line, sizeof line, "FID: %.6f", s.fid); break;
    case Metric::kIs:
      std::snprintf(line, sizeof line, "IS: %.5f +/- %.5f (%d splits)", s.is.mean, s.is.std, s.is.splits);
      break;
    case Metric::kKid:
      std::snprintf(line, sizeof line, "KID: %.6g +/- %.3g (%d subsets of %lld)", s.kid.mean, s.kid.std,
                    s.kid.subsets, (long long)s.kid.subset_size);
      break;
    case Metric::kPrecisionRecall:
      std::snprintf(line, sizeof line, "precision: %.6f, recall: %.6f (k=%d)", s.pr.precision, s.pr.recall, s.pr.k);
      break;
    case Metric::kDensityCoverage:
      std::snprintf(line, sizeof line, "density: %.6f, coverage: %.6f (k=%d)", s.dc.density, s.dc.coverage, s.dc.k);
      break;
    case Metric::kAccuracy:
      std::snprintf(line, sizeof line, "conditional accuracy: %.2f %%", 100 * s.conditional_accuracy);
      break;
  }
  return line;
}

}  // namespace biggan::metrics
