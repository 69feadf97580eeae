// BigGAN (BigGAN.py) and BigGAN-deep (BigGANdeep.py) generators and discriminators.
// Use make_generator / make_discriminator (model.h) unless the concrete type is needed.
#pragma once
#include <map>

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

// The reference's which_conv / which_linear for G_param or D_param ('SN' or plain).
ConvFactory make_conv_factory(bool sn, int64_t num_svs, int64_t num_itrs, double eps);

// One entry of a stage's block list: a G block or an attention layer (called with x only).
struct GStageLayer {
  std::shared_ptr<GBlockBaseImpl> block;
  std::shared_ptr<AttentionImpl> attention;
  torch::Tensor operator()(const torch::Tensor& h, const torch::Tensor& y) const {
    return block ? block->forward(h, y) : attention->forward(h);
  }
};
struct DStageLayer {
  std::shared_ptr<DBlockBaseImpl> block;
  std::shared_ptr<AttentionImpl> attention;
  torch::Tensor operator()(const torch::Tensor& h) const {
    return block ? block->forward(h) : attention->forward(h);
  }
};

struct BigGANGeneratorImpl : GeneratorImpl {
  explicit BigGANGeneratorImpl(const Config& config);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override;
  Arch arch;
  int64_t num_slots, z_chunk_size, bottom_width;
  std::shared_ptr<WeightLayerImpl> linear, output_conv;
  BN output_bn{nullptr};
  std::vector<std::vector<GStageLayer>> stages;
};

struct BigGANDiscriminatorImpl : DiscriminatorImpl {
  explicit BigGANDiscriminatorImpl(const Config& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  Arch arch;
  std::shared_ptr<WeightLayerImpl> linear, embed;
  std::vector<std::vector<DStageLayer>> stages;
};

struct BigGANDeepGeneratorImpl : GeneratorImpl {
  explicit BigGANDeepGeneratorImpl(const Config& config);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override;
  Arch arch;
  int64_t bottom_width;
  std::shared_ptr<WeightLayerImpl> linear, output_conv;
  BN output_bn{nullptr};
  std::vector<std::vector<GStageLayer>> stages;
};

struct BigGANDeepDiscriminatorImpl : DiscriminatorImpl {
  explicit BigGANDeepDiscriminatorImpl(const Config& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) override;
  Arch arch;
  std::shared_ptr<WeightLayerImpl> input_conv, linear, embed;
  std::vector<std::vector<DStageLayer>> stages;
};

}  // namespace biggan
