#include "libbiggan/training/tfhub_deep_mapping.h"

#include "libbiggan/util/error.h"
#include "libbiggan/util/shape_text.h"

namespace biggan {
namespace {

std::string bn_scope(int64_t i, int k) {
  return tfhub_block_scope(i) + (k == 0 ? "/BatchNorm" : "/BatchNorm_" + std::to_string(k));
}

constexpr const char* kDeep = "BigGAN-deep";

}  // namespace

bool is_tfhub_deep_module(const TfVariables& vars) {
  return vars.variables().count(std::string("Generator/GenZ/G_linear/w") + kTfHubDeepEmaSuffix) > 0;
}

TfHubArchitecture read_tfhub_deep_architecture(const TfVariables& vars) {
  const std::string E = kTfHubDeepEmaSuffix;
  TfHubArchitecture a;
  a.deep = true;
  const auto& emb = tfhub_need_shape(vars, "linear/w" + E, 2, kDeep);
  a.n_classes = emb[0];
  a.shared_dim = emb[1];
  const std::string lin_name = "Generator/GenZ/G_linear/w" + E;
  const auto& lin = tfhub_need_shape(vars, lin_name, 2, kDeep);
  a.dim_z = a.z_chunk = lin[0] - a.shared_dim;
  if (a.dim_z <= 0 || lin[1] <= 0 || lin[1] % 16 != 0)
    throw input_error(vars.file_of(lin_name), "tensor '" + lin_name + "' has shape " + shape_text(lin) +
                                                  ": not [dim_z + " + std::to_string(a.shared_dim) + ", 4*4*channels]");
  const auto& rgb = tfhub_need_shape(vars, "Generator/conv_to_rgb/w" + E, 4, kDeep);
  a.G_ch = rgb[2];
  a.output_channels = rgb[3];
  if (a.output_channels < 3)
    throw input_error(vars.file_of("Generator/conv_to_rgb/w" + E),
                      "tensor 'Generator/conv_to_rgb/w" + E + "' has " + std::to_string(a.output_channels) +
                          " outputs, fewer than the image's 3");
  while (vars.variables().count(tfhub_block_scope(a.num_blocks) + "/conv0/w" + E)) ++a.num_blocks;
  if (a.num_blocks < 2 || a.num_blocks % 2 != 0 || a.num_blocks > 20)
    throw input_error(vars.source(), "found " + std::to_string(a.num_blocks) + " GBlocks (" + tfhub_block_scope(0) +
                                         "/conv0/w" + E + " ...): a BigGAN-deep module has two a stage");
  a.resolution = int64_t(4) << (a.num_blocks / 2);
  // Attention follows the stage whose output width it takes: an odd (upsampling) GBlock.
  std::vector<int64_t> upsampling;
  for (int64_t i = 1; i < a.num_blocks; i += 2) upsampling.push_back(i);
  const int64_t found = tfhub_attention_block(
      vars, "Generator/attention/theta/w" + E, upsampling,
      [&](int64_t i) { return tfhub_block_scope(i) + "/conv3/w" + E; }, kDeep);
  a.attention_block = found;
  a.G_attn = std::to_string(int64_t(4) << ((found + 1) / 2));
  return a;
}

Config tfhub_deep_generator_config(const TfHubArchitecture& a, bool ema, int64_t bn_levels) {
  Config c = tfhub_generator_config(a, ema);  // SN, hier, shared, eps 1e-4, eval mode, skip_init
  c.model = "BigGANdeep";
  c.G_depth = c.D_depth = 2;
  c.G_output_channels = a.output_channels;
  c.G_output_BN_eps = 1e-4;
  c.G_BN_levels = bn_levels;
  c.tfhub_module = "biggan-deep-" + std::to_string(a.resolution);
  return c;
}

std::vector<TfHubDeepBN> tfhub_deep_bns(const TfHubArchitecture& a) {
  std::vector<TfHubDeepBN> out;
  for (int64_t i = 0; i < a.num_blocks; ++i)
    for (int k = 0; k < 4; ++k)
      out.push_back({bn_scope(i, k), "blocks." + std::to_string(i) + ".0.bn" + std::to_string(k + 1)});
  out.push_back({"Generator/BatchNorm", "output_layer.0"});
  return out;
}

std::vector<TfHubTensor> tfhub_deep_tensors(const TfHubArchitecture& a, bool ema, bool accumulated_stats) {
  const std::string E = ema ? kTfHubDeepEmaSuffix : "";
  using T = TfHubTransform;
  std::vector<TfHubTensor> out;
  auto add = [&](const std::string& key, const std::string& var, T t) { out.push_back({key, var, t}); };
  auto sn = [&](const std::string& key, const std::string& scope, T weight, bool bias) {
    add(key + ".weight", scope + "/w" + E, weight);
    if (bias) add(key + ".bias", scope + "/b" + E, T::kAsIs);
    add(key + ".u0", scope + "/u0", T::kReshape);
  };
  auto stats = [&](const std::string& key, const std::string& scope) {
    if (!accumulated_stats) return;
    add(key + ".stored_mean", scope + "/accumulated_mean", T::kAsIs);
    add(key + ".stored_var", scope + "/accumulated_var", T::kAsIs);
  };
  add("shared.weight", "linear/w" + E, T::kAsIs);
  add("linear.weight", "Generator/GenZ/G_linear/w" + E, T::kDeepLinearWeight);
  add("linear.bias", "Generator/GenZ/G_linear/b" + E, T::kLinearVector);
  add("linear.u0", "Generator/GenZ/G_linear/u0", T::kLinearVector);
  for (int64_t i = 0; i < a.num_blocks; ++i) {
    const std::string key = "blocks." + std::to_string(i) + ".0.";
    for (int k = 0; k < 4; ++k) {
      const std::string bkey = key + "bn" + std::to_string(k + 1), scope = bn_scope(i, k);
      sn(bkey + ".gain", scope + "/scale", T::kHyperBN, false);
      sn(bkey + ".bias", scope + "/offset", T::kHyperBN, false);
      stats(bkey, scope);
    }
    for (int k = 0; k < 4; ++k)
      sn(key + "conv" + std::to_string(k + 1), tfhub_block_scope(i) + "/conv" + std::to_string(k), T::kConvHWIO, true);
  }
  const std::string attn = "blocks." + std::to_string(a.attention_block) + ".1.";
  for (const char* conv : {"theta", "phi", "g"}) sn(attn + conv, std::string("Generator/attention/") + conv, T::kConvHWIO, false);
  sn(attn + "o", "Generator/attention/o_conv", T::kConvHWIO, false);
  add(attn + "gamma", "Generator/attention/gamma" + E, T::kReshape);
  add("output_layer.0.gain", "Generator/BatchNorm/scale" + E, T::kReshape);
  add("output_layer.0.bias", "Generator/BatchNorm/offset" + E, T::kReshape);
  stats("output_layer.0", "Generator/BatchNorm");
  sn("output_layer.2", "Generator/conv_to_rgb", T::kConvHWIO, true);
  return out;
}

}  // namespace biggan
