// tfhub-convert: a DeepMind TF-Hub BigGAN module (its directory, or the HDF5 dump of BigGAN-PyTorch's
// TFHub/converter.py) -> a weights folder that gan-sample, ckpt-inspect and gan-train --resume take
// as they are: G.pth (and G_ema.pth) with BigGAN-PyTorch's keys, and a state_dict.pth whose config
// describes the architecture. Everything is read and checked before anything is written, and the
// folder is written as one atomic save (weights_folder.h).
#pragma once
#include <filesystem>
#include <string>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/tfhub_mapping.h"

namespace biggan {

struct TfHubConvertOptions {
  // The EMA copies of the weights (converter.py's default); false: the raw ones (--no_ema).
  bool ema = true;
  bool progress = false;  // a progress line on stderr while tensors are read
  // BigGAN-deep: a file with the BN statistics per truncation level (truncation_tables.h); they
  // replace any the input holds. Without tables the module's accumulated_* statistics are used.
  std::filesystem::path bn_stats;
};

struct TfHubConversion {
  std::string source;  // the module directory or HDF5 file
  TfHubArchitecture arch;
  Config config;
  StateDict G;  // the Generator's state dict in Python's order, sv0 buffers included (ones)
  std::string bn_statistics;  // BigGAN-deep: where its BN statistics came from, for the tool's line
};

// Reads every tensor the Generator needs (checking each CRC), maps it and loads it into a
// Generator built from the derived config (so every key and shape is checked). Writes nothing.
// `input` may also be a BigGAN-deep module (tfhub_deep_mapping.h) or Hugging Face's converted
// BigGAN-deep directory (hf_biggan_deep.h).
// Every problem with the module is a one-line biggan::Error naming the file and the tensor.
TfHubConversion convert_tfhub(const std::filesystem::path& input, const TfHubConvertOptions& options);

// Writes the conversion into `out` (created; it must be absent or empty): G.pth, G_ema.pth (the same
// EMA weights, so sampling defaults match the reference converter's .pth) unless the raw weights
// were converted, and state_dict.pth with the config. On failure `out` is left as it was.
void write_tfhub_weights(const std::filesystem::path& out, const TfHubConversion& conversion);

// Both, after checking `out` first (nothing is read when it is not usable).
TfHubConversion tfhub_convert(const std::filesystem::path& input, const std::filesystem::path& out,
                              const TfHubConvertOptions& options);

// "biggan-128 module: G_ch 96, dim_z 120, shared_dim 128, 1000 classes, attention at 64"
std::string describe_tfhub_architecture(const TfHubArchitecture& arch);

}  // namespace biggan
