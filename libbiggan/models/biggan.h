// BigGAN (BigGAN.py) and BigGAN-deep (BigGANdeep.py) generators and discriminators.
// Use make_generator / make_discriminator (model.h) unless the concrete type is needed.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "libbiggan/models/blocks.h"
#include "libbiggan/models/model.h"

namespace biggan {

// One row of the reference's G_arch / D_arch tables.
struct Arch {
  std::vector<int64_t> in_channels, out_channels;
  std::vector<bool> resample;        // upsample (G) / downsample (D) per stage
  std::vector<int64_t> resolution;   // the resolution whose attention flag applies per stage
  std::map<int64_t, bool> attention; // resolution -> attention on
};
// Throw biggan::Error when the resolution has no table entry.
Arch biggan_G_arch(int64_t ch, const std::string& attention, int64_t resolution);
Arch biggan_D_arch(int64_t ch, const std::string& attention, int64_t resolution);
Arch biggan_deep_G_arch(int64_t ch, const std::string& attention, int64_t resolution);
Arch biggan_deep_D_arch(int64_t ch, const std::string& attention, int64_t resolution);

// What the tables are written with: ch * each multiplier (the reference's [ch * item for item in ...]).
std::vector<int64_t> channel_multiples(int64_t ch, std::vector<int64_t> multipliers);
// {2^lo .. 2^(hi-1)} -> whether the resolution is in the attention spec (the tables' 'attention').
std::map<int64_t, bool> attention_by_resolution(const std::string& spec, int lo, int hi);

// The reference's which_conv / which_linear for G_param or D_param: SNConv2d with `sn` filled in.
ConvFactory make_conv_factory(const SNOptions& sn);

struct BigGANGeneratorImpl : GeneratorImpl {
  explicit BigGANGeneratorImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override;
  Arch arch;
  int64_t num_slots, z_chunk_size;  // hier: z split in num_slots chunks (z_chunk_size 0 without)
};

struct BigGANDiscriminatorImpl : DiscriminatorImpl {
  explicit BigGANDiscriminatorImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  Arch arch;
};

struct BigGANDeepGeneratorImpl : GeneratorImpl {
  explicit BigGANDeepGeneratorImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override;
  Arch arch;
};

struct BigGANDeepDiscriminatorImpl : DiscriminatorImpl {
  explicit BigGANDeepDiscriminatorImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  Arch arch;
  std::shared_ptr<WeightLayerImpl> input_conv;
};

}  // namespace biggan
