#include "libbiggan/models/truncation_stats.h"

#include <cmath>
#include <vector>

#include "libbiggan/models/layers.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace {

struct Tables {
  torch::Tensor mean, var, means, vars;
};

// Every BN (conditional or not) of the tree that has truncation tables.
std::vector<Tables> tables_of(torch::nn::Module& root) {
  std::vector<Tables> out;
  for (auto& m : root.modules(/*include_self=*/true)) {
    if (auto c = std::dynamic_pointer_cast<CCBNImpl>(m); c && c->truncation_means.defined())
      out.push_back({c->stored_mean, c->stored_var, c->truncation_means, c->truncation_vars});
    else if (auto b = std::dynamic_pointer_cast<BNImpl>(m); b && b->truncation_means.defined())
      out.push_back({b->stored_mean, b->stored_var, b->truncation_means, b->truncation_vars});
  }
  return out;
}

torch::Tensor mix(const torch::Tensor& table, const TruncationLevelMix& m) {
  if (m.lower_weight == 1) return table[m.lower];
  // As Hugging Face computes it (float32 tensors times Python floats).
  return table[m.lower] * m.lower_weight + table[m.lower + 1] * (1 - m.lower_weight);
}

}  // namespace

TruncationLookup parse_truncation_lookup(const std::string& name, const std::string& source) {
  if (name == "linear") return TruncationLookup::kLinear;
  if (name == "huggingface") return TruncationLookup::kHuggingFace;
  throw input_error(source, "truncation lookup must be linear or huggingface, got '" + name + "'");
}

TruncationLevelMix truncation_level_mix(double t, int64_t levels, TruncationLookup lookup) {
  if (levels < 2) throw Error("truncation tables need at least 2 levels, got " + std::to_string(levels));
  if (!(t >= 0 && t <= 1))
    throw Error("truncation " + std::to_string(t) + " is outside the tables' range 0..1");
  const double step = 1.0 / static_cast<double>(levels - 1);
  TruncationLevelMix m;
  if (lookup == TruncationLookup::kHuggingFace) {
    // coef, start_idx = math.modf(truncation / step_size); when coef != 0:
    // running_means[start_idx] * coef + running_means[start_idx + 1] * (1 - coef)
    double start = 0;
    const double coef = std::modf(t / step, &start);
    m.lower = static_cast<int64_t>(start);
    m.lower_weight = coef == 0 ? 1 : coef;
    return m;
  }
  const double x = t * static_cast<double>(levels - 1);
  const double nearest = std::round(x);
  if (std::fabs(x - nearest) < 1e-9) {  // a grid value (0.14 * 50 is 7.000000000000001)
    m.lower = static_cast<int64_t>(nearest);
    return m;
  }
  m.lower = static_cast<int64_t>(std::floor(x));
  m.lower_weight = 1 - (x - static_cast<double>(m.lower));
  return m;
}

int select_truncation_statistics(torch::nn::Module& root, double truncation, TruncationLookup lookup) {
  torch::NoGradGuard no_grad;
  int n = 0;
  for (auto& t : tables_of(root)) {
    const auto m = truncation_level_mix(truncation, t.means.size(0), lookup);
    t.mean.copy_(mix(t.means, m));
    t.var.copy_(mix(t.vars, m));
    ++n;
  }
  return n;
}

int64_t truncation_levels(torch::nn::Module& root) {
  const auto t = tables_of(root);
  return t.empty() ? 0 : t.front().means.size(0);
}

}  // namespace biggan
