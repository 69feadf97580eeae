// DeepMind's TF-Hub BigGAN-deep modules ("biggan-deep-RES/1") -> our BigGANdeep Generator, the
// mapping of Hugging Face's pytorch-pretrained-BigGAN converter (build_tf_to_pytorch_map) carried
// over to BigGANdeep.py's keys, with the differences the fixture's FORMAT-deep.md lists (section 7):
// GBlock_i -> blocks.i.0, convK -> conv(K+1), BatchNorm_K -> bn(K+1); TF's conditioning [z ‖ y] ->
// BigGANdeep's cat([y, z]) (columns swapped: SN does not see a column permutation); the first
// linear's (h, w, c) rows -> (c, h, w); the 128-channel output conv and eps-1e-4 output BN as the
// model options G_output_channels / G_output_BN_eps; 51-level BN tables as G_BN_levels.
#pragma once
#include <string>
#include <vector>

#include "libbiggan/serialization/tf_variables.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/tfhub_mapping.h"

namespace biggan {

// The EMA copy's suffix in the deep modules.
inline constexpr const char* kTfHubDeepEmaSuffix = "/ema_0.9999";

// Whether the variables are a BigGAN-deep module's (Generator/GenZ/G_linear/w/ema_0.9999).
bool is_tfhub_deep_module(const TfVariables& vars);

// The architecture from the shapes (deep = true, z_chunk = dim_z); one-line errors name the
// module and the tensor.
TfHubArchitecture read_tfhub_deep_architecture(const TfVariables& vars);

// BigGANdeep with G_depth 2, hier, the shared embedding, BN_eps = SN_eps = 1e-4, attention where
// the module has it, the output conv's channels, output BN eps 1e-4 and `bn_levels` tables (0: one
// set of statistics).
Config tfhub_deep_generator_config(const TfHubArchitecture& arch, bool ema, int64_t bn_levels);

// One BN of the module: its TF scope and our module's key prefix, in Hugging Face's table order
// (every GBlock's BatchNorm, _1, _2, _3, then the output BN).
struct TfHubDeepBN {
  std::string scope;  // "Generator/GBlock_1/BatchNorm_2", "Generator/BatchNorm"
  std::string key;    // "blocks.1.0.bn3", "output_layer.0"
};
std::vector<TfHubDeepBN> tfhub_deep_bns(const TfHubArchitecture& arch);

// Every tensor of the Generator but the sv0 buffers and the BN statistics (those come from the
// truncation tables), or with `accumulated_stats` the statistics from the module's accumulated_*
// variables (when no tables are given; what they hold is not known for the real modules).
std::vector<TfHubTensor> tfhub_deep_tensors(const TfHubArchitecture& arch, bool ema, bool accumulated_stats);

}  // namespace biggan
