// Hugging Face's converted BigGAN-deep (pytorch-pretrained-BigGAN: BigGAN.from_pretrained caches a
// directory with pytorch_model.bin and config.json) read back as the TF-Hub module it came from,
// so that tfhub-convert makes the same weights folder from either. The inverse of its
// load_tf_weights_in_biggan: transposes undone, layers.L -> GBlock_i (L = i + (i >= the attention
// position)), the 51-level running_means / running_vars as truncation tables.
//
// Spectral norm: HF keeps weight_u / weight_v after one power iteration from TF's u0, and in eval
// mode computes sigma = ||W v||. u0 itself is not kept; any u with W^T u parallel to v gives the
// same v, hence the same sigma, in our one-iteration evaluation: we store the least-squares
// solution of W^T u = v (u0 itself when W has full row rank, up to scale and round-off).
#pragma once
#include <filesystem>
#include <memory>

#include "libbiggan/serialization/tf_variables.h"
#include "libbiggan/training/truncation_tables.h"

namespace biggan {

// A directory with pytorch_model.bin and config.json.
bool is_hf_biggan_dir(const std::filesystem::path& dir);

struct HfBigGANDeep {
  std::unique_ptr<TfVariables> variables;  // the module's EMA variables and u0 vectors, by TF name
  TruncationTables tables;                 // by TF BN scope
};

// Reads and maps the whole state dict; errors are one line naming the file and the tensor.
HfBigGANDeep open_hf_biggan_deep(const std::filesystem::path& dir);

}  // namespace biggan
