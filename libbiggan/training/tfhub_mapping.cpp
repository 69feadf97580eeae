#include "libbiggan/training/tfhub_mapping.h"

#include "libbiggan/util/error.h"
#include "libbiggan/util/shape_text.h"

namespace biggan {
namespace {

constexpr const char* kV2 = "BigGAN (v2)";

}  // namespace

std::string tfhub_block_scope(int64_t i) { return i == 0 ? "Generator/GBlock" : "Generator/GBlock_" + std::to_string(i); }

const std::vector<int64_t>& tfhub_need_shape(const TfVariables& vars, const std::string& name, size_t rank,
                                             const std::string& kind) {
  const auto& v = vars.variables();
  auto it = v.find(name);
  if (it == v.end()) throw input_error(vars.source(), "no variable '" + name + "': not a TF-Hub " + kind + " module");
  if (it->second.shape.size() != rank)
    throw input_error(vars.file_of(name), "tensor '" + name + "' has shape " + shape_text(it->second.shape) +
                                              ", expected " + std::to_string(rank) + " dimensions");
  return it->second.shape;
}

int64_t tfhub_attention_block(const TfVariables& vars, const std::string& theta, const std::vector<int64_t>& candidates,
                              const std::function<std::string(int64_t)>& block_output_conv, const std::string& kind) {
  const int64_t width = tfhub_need_shape(vars, theta, 4, kind)[2];
  int64_t found = -1;
  for (int64_t i : candidates) {
    if (tfhub_need_shape(vars, block_output_conv(i), 4, kind)[3] != width) continue;
    if (found >= 0)
      throw input_error(vars.source(), "the attention layer's width " + std::to_string(width) +
                                           " matches the outputs of GBlocks " + std::to_string(found) + " and " +
                                           std::to_string(i) + ": cannot tell where it sits");
    found = i;
  }
  if (found < 0)
    throw input_error(vars.file_of(theta), "tensor '" + theta + "' has width " + std::to_string(width) +
                                               ", which no GBlock that may carry it outputs");
  return found;
}

TfHubArchitecture read_tfhub_architecture(const TfVariables& vars) {
  const auto& v = vars.variables();
  const std::string E = kTfHubEmaSuffix;
  if (!v.count("Generator/G_Z/G_linear/w" + E)) {
    if (v.count("Generator/GenZ/G_linear/w/ema_0.9999"))
      throw input_error(vars.source(), "a BigGAN-deep module (Generator/GenZ/...): tfhub-convert converts the BigGAN "
                                       "(v2) modules biggan-128/256/512, not BigGAN-deep");
    throw input_error(vars.source(), "not a TF-Hub BigGAN (v2) module: no variable 'Generator/G_Z/G_linear/w" + E +
                                         "' (" + std::to_string(v.size()) + " variables)");
  }
  TfHubArchitecture a;
  const auto& emb = tfhub_need_shape(vars, "linear/w" + E, 2, kV2);
  a.n_classes = emb[0];
  a.shared_dim = emb[1];
  const auto& lin = tfhub_need_shape(vars, "Generator/G_Z/G_linear/w" + E, 2, kV2);
  a.z_chunk = lin[0];
  if (lin[1] <= 0 || lin[1] % 16 != 0)
    throw input_error(vars.file_of("Generator/G_Z/G_linear/w" + E),
                      "tensor 'Generator/G_Z/G_linear/w" + E + "' has shape " + shape_text(lin) +
                          ": its outputs are not a 4x4 grid of channels");
  const auto& rgb = tfhub_need_shape(vars, "Generator/conv_2d/w" + E, 4, kV2);
  a.G_ch = rgb[2];
  while (v.count(tfhub_block_scope(a.num_blocks) + "/conv1/w" + E)) ++a.num_blocks;
  if (a.num_blocks == 0 || a.num_blocks > 10)
    throw input_error(vars.source(), "found " + std::to_string(a.num_blocks) + " GBlocks (" + tfhub_block_scope(0) +
                                         "/conv1/w" + E + " ...): not a TF-Hub BigGAN (v2) module");
  a.resolution = int64_t(4) << a.num_blocks;
  a.dim_z = a.z_chunk * (a.num_blocks + 1);
  // Attention sits after the block whose output width it takes (unique in every BigGAN G_arch).
  std::vector<int64_t> blocks(a.num_blocks);
  for (int64_t i = 0; i < a.num_blocks; ++i) blocks[i] = i;
  const int64_t found = tfhub_attention_block(
      vars, "Generator/attention/theta/w" + E, blocks,
      [&](int64_t i) { return tfhub_block_scope(i) + "/conv1/w" + E; }, kV2);
  a.attention_block = found;
  a.G_attn = std::to_string(int64_t(4) << (found + 1));
  return a;
}

Config tfhub_generator_config(const TfHubArchitecture& a, bool ema) {
  Config c;  // converter.get_config, with the sizes read from the module
  c.model = "BigGAN";
  c.G_param = c.D_param = "SN";
  c.G_ch = c.D_ch = a.G_ch;
  c.D_wide = true;
  c.G_shared = true;
  c.shared_dim = a.shared_dim;
  c.dim_z = a.dim_z;
  c.hier = true;
  c.cross_replica = c.mybn = false;
  c.G_attn = a.G_attn;
  c.norm_style = "bn";
  c.G_init = "ortho";
  c.skip_init = c.no_optim = true;
  c.G_fp16 = c.G_mixed_precision = false;
  c.accumulate_stats = false;
  c.num_standing_accumulations = 16;
  c.G_eval_mode = true;
  c.BN_eps = c.SN_eps = 1e-4;
  c.num_G_SVs = c.num_G_SV_itrs = 1;
  c.resolution = a.resolution;
  c.n_classes = a.n_classes;
  const std::string dataset = "I" + std::to_string(a.resolution) + "_hdf5";
  if (dataset_resolution(dataset) == a.resolution) c.dataset = dataset;
  c.ema = c.use_ema = ema;  // G_ema.pth is written (and sampled by default) with the EMA weights
  c.tfhub_module = "biggan-" + std::to_string(a.resolution);  // gan-sample --truncation reads it
  return c;
}

std::vector<TfHubTensor> tfhub_tensors(const TfHubArchitecture& a, bool ema) {
  const std::string E = ema ? kTfHubEmaSuffix : "";
  using T = TfHubTransform;
  std::vector<TfHubTensor> out;
  auto add = [&](const std::string& key, const std::string& var, T t) { out.push_back({key, var, t}); };
  // An SN layer: weight (EMA or raw), bias, and the module's one u0 (converter.py's load_snconv).
  auto sn = [&](const std::string& key, const std::string& scope, T weight, bool bias) {
    add(key + ".weight", scope + "/w" + E, weight);
    if (bias) add(key + ".bias", scope + "/b" + E, T::kAsIs);
    add(key + ".u0", scope + "/u0", T::kReshape);
  };
  add("shared.weight", "linear/w" + E, T::kAsIs);
  add("linear.weight", "Generator/G_Z/G_linear/w" + E, T::kLinearWeight);
  add("linear.bias", "Generator/G_Z/G_linear/b" + E, T::kLinearVector);
  add("linear.u0", "Generator/G_Z/G_linear/u0", T::kLinearVector);
  for (int64_t i = 0; i < a.num_blocks; ++i) {
    const std::string key = "blocks." + std::to_string(i) + ".0.", scope = tfhub_block_scope(i) + "/";
    sn(key + "conv1", scope + "conv0", T::kConvHWIO, true);
    sn(key + "conv2", scope + "conv1", T::kConvHWIO, true);
    sn(key + "conv_sc", scope + "conv_sc", T::kConvHWIO, true);
    for (int bn = 1; bn <= 2; ++bn) {
      const std::string bkey = key + "bn" + std::to_string(bn) + ".", suffix = bn == 1 ? "" : "_1";
      sn(bkey + "gain", scope + "HyperBN" + suffix + "/gamma", T::kHyperBN, false);
      sn(bkey + "bias", scope + "HyperBN" + suffix + "/beta", T::kHyperBN, false);
      add(bkey + "stored_mean", scope + "CrossReplicaBN" + suffix + "/accumulated_mean", T::kAsIs);
      add(bkey + "stored_var", scope + "CrossReplicaBN" + suffix + "/accumulated_var", T::kAsIs);
    }
  }
  const std::string attn = "blocks." + std::to_string(a.attention_block) + ".1.";
  for (const char* conv : {"theta", "phi", "g"}) sn(attn + conv, std::string("Generator/attention/") + conv, T::kConvHWIO, false);
  sn(attn + "o", "Generator/attention/o_conv", T::kConvHWIO, false);
  add(attn + "gamma", "Generator/attention/gamma" + E, T::kReshape);
  add("output_layer.0.gain", "Generator/ScaledCrossReplicaBN/gamma" + E, T::kReshape);
  add("output_layer.0.bias", "Generator/ScaledCrossReplicaBN/beta" + E, T::kReshape);
  add("output_layer.0.stored_mean", "Generator/ScaledCrossReplicaBNbn/accumulated_mean", T::kAsIs);
  add("output_layer.0.stored_var", "Generator/ScaledCrossReplicaBNbn/accumulated_var", T::kAsIs);
  sn("output_layer.2", "Generator/conv_2d", T::kConvHWIO, true);
  return out;
}

std::vector<int64_t> tfhub_source_shape(TfHubTransform t, const std::vector<int64_t>& m) {
  switch (t) {
    case TfHubTransform::kReshape: {
      int64_t n = 1;
      for (auto d : m) n *= d;
      return {n};
    }
    case TfHubTransform::kConvHWIO: return m.size() == 4 ? std::vector<int64_t>{m[2], m[3], m[1], m[0]} : m;
    case TfHubTransform::kHyperBN:
    case TfHubTransform::kDeepLinearWeight:
    case TfHubTransform::kLinearWeight: return m.size() == 2 ? std::vector<int64_t>{m[1], m[0]} : m;
    case TfHubTransform::kAsIs:
    case TfHubTransform::kLinearVector: return m;
  }
  return m;
}

torch::Tensor apply_tfhub_transform(TfHubTransform transform, const torch::Tensor& t,
                                    const std::vector<int64_t>& model_shape, int64_t z_chunk) {
  switch (transform) {
    case TfHubTransform::kAsIs:
    case TfHubTransform::kReshape: return t.reshape(model_shape).contiguous();
    case TfHubTransform::kConvHWIO: return t.permute({3, 2, 0, 1}).contiguous();
    case TfHubTransform::kHyperBN: {
      // TF conditions on [z chunk ‖ class embedding]; BigGAN.py concatenates [y ‖ z].
      const auto w = t.t();
      return torch::cat({w.slice(1, z_chunk), w.slice(1, 0, z_chunk)}, 1).contiguous();
    }
    case TfHubTransform::kLinearWeight: {
      const int64_t c = model_shape[0] / 16;  // the first block's width, on a 4x4 grid
      return t.t().reshape({4, 4, c, model_shape[1]}).permute({2, 0, 1, 3}).reshape(model_shape).contiguous();
    }
    case TfHubTransform::kDeepLinearWeight: {
      // Both: TF's rows (h, w, c) to (c, h, w), and its [z ‖ y] columns to BigGANdeep's cat([y, z]).
      const auto w = apply_tfhub_transform(TfHubTransform::kLinearWeight, t, model_shape, z_chunk);
      return torch::cat({w.slice(1, z_chunk), w.slice(1, 0, z_chunk)}, 1).contiguous();
    }
    case TfHubTransform::kLinearVector: {
      const int64_t c = t.numel() / 16;
      return t.reshape({4, 4, c}).permute({2, 0, 1}).reshape(model_shape).contiguous();
    }
  }
  return t;
}

}  // namespace biggan
