// DeepMind's TF-Hub BigGAN (v2, "biggan-RES/2") variables -> BigGAN-PyTorch Generator state-dict
// keys, the mapping of the reference's TFHub/converter.py (TFHub2Pytorch + convert_from_v1), with
// the architecture read from the tensor shapes instead of hard-coded (the reference assumes width
// 96: any width converts here). See ../shared/fixtures/tfhub/FORMAT.md sections c and d.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "libbiggan/serialization/tf_variables.h"
#include "libbiggan/training/config.h"

namespace biggan {

// What the shapes say about the module.
struct TfHubArchitecture {
  int64_t resolution = 0;
  int64_t num_blocks = 0;       // GBlocks (5, 6, 7 for 128, 256, 512)
  int64_t G_ch = 0;             // the output conv's input channels
  int64_t dim_z = 0;            // z_chunk * (num_blocks + 1): hierarchical z
  int64_t z_chunk = 0;          // G_linear's input (20, or 16 at 512)
  int64_t shared_dim = 0;       // the class embedding's width
  int64_t n_classes = 0;
  int64_t attention_block = 0;  // attention follows this GBlock
  std::string G_attn;           // its resolution, as the config spells it
  // BigGAN-deep modules (tfhub_deep_mapping.h): GBlocks are resblocks (2 a stage), attention_block
  // is the GBlock it follows (ours: blocks.<i>.1), z_chunk = dim_z (z and y go to every layer).
  bool deep = false;
  int64_t output_channels = 3;  // the output conv's outputs (deep: 128, of which 3 are the image)
};

// The EMA copy's suffix in the v2 modules (converter.py's load_ema).
inline constexpr const char* kTfHubEmaSuffix = "/ema_b999900";

// Reads the architecture from the variables' shapes; a module of another kind (BigGAN-deep, not a
// BigGAN at all) or inconsistent shapes are one-line errors naming the module and the tensor.
TfHubArchitecture read_tfhub_architecture(const TfVariables& vars);

// The Generator config of BigGAN-PyTorch's converter.get_config, with the architecture's sizes:
// SN, hier, shared embedding, BN_eps = SN_eps = 1e-4, one SV, eval mode, skip_init, no optimiser.
Config tfhub_generator_config(const TfHubArchitecture& arch, bool ema);

// Shared by both module readers (BigGAN here, BigGAN-deep in tfhub_deep_mapping.cpp).
// converter.py's GBlock scopes: "Generator/GBlock", "Generator/GBlock_1", ...
std::string tfhub_block_scope(int64_t i);
// The shape of variable `name`, which must exist with `rank` dimensions; otherwise a one-line error
// naming the module (not a "TF-Hub <kind> module") or the tensor's file.
const std::vector<int64_t>& tfhub_need_shape(const TfVariables& vars, const std::string& name, size_t rank,
                                             const std::string& kind);
// The one block among `candidates` whose output width (dimension 3 of the HWIO conv weight that
// `block_output_conv(i)` names) equals the attention layer's width (dimension 2 of `theta`):
// attention sits after it. None or two are one-line errors.
int64_t tfhub_attention_block(const TfVariables& vars, const std::string& theta, const std::vector<int64_t>& candidates,
                              const std::function<std::string(int64_t)>& block_output_conv, const std::string& kind);

// How one state-dict tensor is made from one TF variable.
enum class TfHubTransform {
  kAsIs,          // same shape
  kReshape,       // same values, the model's shape (u0 [1,C], gamma [1] -> [], output BN [1,1,1,C] -> [C])
  kConvHWIO,      // [kh, kw, in, out] -> [out, in, kh, kw]
  kHyperBN,       // [z_chunk + shared, C] -> [C, shared + z_chunk]: transposed, y columns first
  kLinearWeight,  // [z_chunk, 4*4*C] (rows h, w, c) -> [C*4*4, z_chunk] (rows c, h, w)
  kLinearVector,  // [.., 4*4*C] (h, w, c) -> (c, h, w), keeping the leading dims
  kDeepLinearWeight,  // [z_chunk + shared, 4*4*C] -> [C*4*4, shared + z_chunk]: rows (c, h, w), y columns first
};

struct TfHubTensor {
  std::string key;       // state-dict key ("blocks.0.0.conv1.weight")
  std::string variable;  // checkpoint name ("Generator/GBlock/conv0/w/ema_b999900")
  TfHubTransform transform = TfHubTransform::kAsIs;
};

// Every tensor of the Generator's state dict but the sv0 buffers, in converter.py's terms: the EMA
// copies of weights, biases, gains and embeddings (`ema`), or the raw ones, with the module's only
// u0 vectors and accumulated BN statistics either way.
std::vector<TfHubTensor> tfhub_tensors(const TfHubArchitecture& arch, bool ema);

// The TF shape a variable must have to become a tensor of `model_shape` by `transform`; for
// kReshape only the element count must match (returned as {numel}).
std::vector<int64_t> tfhub_source_shape(TfHubTransform transform, const std::vector<int64_t>& model_shape);

// Applies `transform` to the variable's values `t`, giving a tensor of `model_shape`.
torch::Tensor apply_tfhub_transform(TfHubTransform transform, const torch::Tensor& t,
                                    const std::vector<int64_t>& model_shape, int64_t z_chunk);

}  // namespace biggan
