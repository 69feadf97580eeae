// The architecture a G / D state dict was made with, read off its keys and shapes (BigGAN-PyTorch
// #8, #32: "size mismatch" when the config does not match the weights). Every loader of a weights
// folder (gan-sample, fid through gan-sample's stream, ckpt-inspect, gan-train --resume and
// --resume_from) goes through infer_architecture, so the rules live here once.
//
// What the tensors show: BigGAN vs BigGAN-deep, resolution, G_ch / D_ch, G_depth / D_depth, dim_z,
// bottom_width, G_shared, shared_dim, hier, attention resolutions, n_classes, output_dim, D_wide,
// SN or plain and the number of SVs, and the BN flavour (myBN, cross-replica, stored statistics or
// none). What they cannot show (activations, eps values, power iterations, init, bn vs in) comes
// from the `base` config and is listed as an assumption.
#pragma once
#include <string>
#include <vector>

#include "libbiggan/models/model_config.h"
#include "libbiggan/serialization/module_state.h"

namespace biggan {

struct ArchitectureInference {
  ModelConfig config;                // `base` with every field the tensors decide replaced
  std::vector<std::string> decided;  // the ModelConfig fields the tensors decided, in table order
  std::vector<std::string> assumed;  // "name value" of the settings taken from `base` unseen
};

// Works out the architecture from G's and / or D's state dict (either may be null, not both).
// Where the tensors allow several settings alike (bn or in, a deep G's hier), `base` decides.
// Throws biggan::Error naming `source` when the tensors are not a BigGAN / BigGAN-deep G or D, or
// when G and D disagree (model, resolution, classes).
ArchitectureInference infer_architecture(const StateDict* G, const StateDict* D, const ModelConfig& base,
                                         const std::string& source);

// The architecture fields the tensors can decide, in ModelConfig's order, and one's value as text
// ("" for a name that is not one of them).
const std::vector<std::string>& architecture_fields();
std::string architecture_field_text(const ModelConfig& config, const std::string& field);

// Empty when models built from `config` take exactly the keys and shapes of `G` / `D` (either may
// be null); otherwise the first differences, in one line. Builds the models with skip_init and
// leaves torch's default generator as it found it.
std::string architecture_mismatch(const ModelConfig& config, const StateDict* G, const StateDict* D);

}  // namespace biggan
