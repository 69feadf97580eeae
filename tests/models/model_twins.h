// Two small G / D pairs built from the same seed, so with the same weights, from a ModelConfig and
// a variant of it that should compute the same function another way (channels-last, folded
// resampling); both in eval mode (no power-iteration updates between forwards).
#pragma once
#include <string>

#include "libbiggan/models/model.h"
#include "libbiggan/models/model_config.h"

namespace biggan {

// A 32x32, 3-class BigGAN or BigGAN-deep at 4 channels, attention at 16 (deep: shared, hier).
inline ModelConfig small_test_model(const char* model) {
  ModelConfig m;
  m.model = model;
  m.resolution = 32, m.n_classes = 3, m.G_ch = 4, m.D_ch = 4, m.dim_z = 8, m.G_attn = "16", m.D_attn = "16";
  m.hier = m.G_shared = std::string(model) == "BigGANdeep";
  m.shared_dim = m.G_shared ? 8 : 0;
  return m;
}

struct ModelTwins {
  ModelTwins(const ModelConfig& base, const ModelConfig& variant) {
    torch::manual_seed(0);
    G = make_generator(base);
    D = make_discriminator(base);
    torch::manual_seed(0);
    G_variant = make_generator(variant);
    D_variant = make_discriminator(variant);
    G->eval(), D->eval(), G_variant->eval(), D_variant->eval();
  }
  Generator G{nullptr}, G_variant{nullptr};
  Discriminator D{nullptr}, D_variant{nullptr};
};

}  // namespace biggan
