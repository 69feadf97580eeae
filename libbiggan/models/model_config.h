// What a Generator / Discriminator is built from: architecture, init, normalisation and spectral
// norm settings, named as the reference's constructor arguments (BigGAN.py Generator(...) /
// Discriminator(...)). Training, data, logging and sampling settings stay out; the full flag set is
// biggan::Config (training/config.h), and model_config(Config) there fills this struct.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace biggan {

struct ModelConfig {
  std::string model = "BigGAN";  // BigGAN or BigGANdeep
  int64_t resolution = 128;
  int64_t n_classes = 1000;

  // G: architecture
  int64_t G_ch = 64;
  int64_t G_depth = 1;          // resblocks per stage (BigGAN-deep)
  std::string G_attn = "64";    // attention resolutions, underscore separated ('0' = none)
  int64_t dim_z = 128;
  int64_t bottom_width = 4;     // G's initial spatial size
  bool G_shared = false;        // shared class embedding
  int64_t shared_dim = 0;       // 0 means dim_z
  bool hier = false;            // hierarchical z
  std::string G_nl = "relu";    // relu, inplace_relu, ir (all a ReLU)
  // G: parameterisation and init
  std::string G_param = "SN";   // SN or plain (anything else)
  int64_t num_G_SVs = 1;
  int64_t num_G_SV_itrs = 1;
  std::string G_init = "ortho"; // ortho, N02, glorot / xavier

  // D: architecture
  int64_t D_ch = 64;
  int64_t D_depth = 1;
  std::string D_attn = "64";
  bool D_wide = true;
  int64_t output_dim = 1;
  std::string D_nl = "relu";
  // D: parameterisation and init
  std::string D_param = "SN";
  int64_t num_D_SVs = 1;
  int64_t num_D_SV_itrs = 1;
  std::string D_init = "ortho";

  // Normalisation (G's class-conditional BN) and spectral norm numerics.
  std::string norm_style = "bn";  // bn, in, gn, nonorm
  bool cross_replica = false;     // single-process SyncBN
  bool mybn = false;              // myBN (standing statistics)
  double BN_eps = 1e-5;
  double SN_eps = 1e-8;

  bool skip_init = false;  // keep the layers' default inits (no init_weights)
  // Ours: activations in channels-last (NHWC) layout, where oneDNN's CPU convolutions run about 2x
  // faster than on NCHW (bench/bench_models.sh); the weights and every save keep the reference's
  // layout, the images G returns are contiguous as always. Rounding differs from the reference's.
  bool channels_last = false;
  // Ours: G's 2x upsampling and D's 2x average pooling folded into the adjacent 3x3 convolution
  // (models/folded_resample.h): 2.25x fewer multiply-adds in those convolutions, forward and
  // backward. The same weights and saves; rounding differs from the reference's.
  bool fold_resample = false;

  // What TF-Hub's BigGAN-deep modules compute beyond BigGANdeep.py (tfhub-convert sets them; the
  // defaults are the reference's, so older configs build what they always built).
  int64_t G_output_channels = 3;  // the output conv's outputs, spectrally normalised together; the first 3 are the image
  double G_output_BN_eps = 1e-5;  // the output BN's eps (layers.bn's default)
  int64_t G_BN_levels = 0;        // BN statistics per truncation level (0: one set; the modules: 51)

  // The shared embedding size G uses (shared_dim, or dim_z when 0).
  int64_t effective_shared_dim() const { return shared_dim > 0 ? shared_dim : dim_z; }

  // Throws biggan::Error naming `source` unless the models can be built: a known model with an
  // architecture for the resolution, known init / nl / norm style, positive sizes and counts,
  // positive finite BN_eps / SN_eps, parseable attention specs.
  void validate(const std::string& source) const;
};

// Resolutions with attention, parsed like the reference ('64', '32_64'; '0' means none).
std::vector<int64_t> parse_attention(const std::string& spec);

}  // namespace biggan
