// BN statistics chosen by truncation: TF-Hub's BigGAN-deep modules keep, for every BN, a table of
// statistics per truncation level (51 levels for truncation 0, 0.02, ..., 1) and pick or
// interpolate one by their `truncation` input. Our layers keep those tables as the buffers
// truncation_means / truncation_vars (BNOptions::truncation_levels) and compute with
// stored_mean / stored_var, into which select_truncation_statistics copies the level asked for.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace biggan {

enum class TruncationLookup {
  kLinear,       // linear interpolation between the two nearest levels (a grid value is its level)
  kHuggingFace,  // pytorch-pretrained-BigGAN's BigGANBatchNorm: math.modf(t / step), weights reversed
};

// Parses "linear" / "huggingface"; throws biggan::Error naming `source` otherwise.
TruncationLookup parse_truncation_lookup(const std::string& name, const std::string& source);

// Which rows of a table of `levels` rows (level l is truncation l / (levels - 1)) make the
// statistics at `truncation`: lower_weight * row[lower] + (1 - lower_weight) * row[lower + 1]
// (lower_weight 1: row[lower] alone).
struct TruncationLevelMix {
  int64_t lower = 0;
  double lower_weight = 1;
};
// Throws biggan::Error unless 0 <= truncation <= 1 and levels >= 2.
TruncationLevelMix truncation_level_mix(double truncation, int64_t levels, TruncationLookup lookup);

// Copies the statistics at `truncation` into stored_mean / stored_var of every BN of `root` that has
// truncation tables. Returns how many BN layers it set (0: the model has no tables).
int select_truncation_statistics(torch::nn::Module& root, double truncation, TruncationLookup lookup);

// The number of levels of the model's tables (0 when it has none).
int64_t truncation_levels(torch::nn::Module& root);

}  // namespace biggan
