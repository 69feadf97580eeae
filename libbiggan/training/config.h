// Every option of the reference's command line (utils.prepare_parser + add_sample_parser), with
// the same names and the parser's defaults, plus the model-constructor arguments that the parser
// does not expose (class defaults) and the values train.py derives (resolution, n_classes, ...).
//
// One table drives the struct, JSON / IValue conversion and the reference-style flag parser, so a
// field cannot be forgotten in one of them.
#pragma once
#include <string>
#include <vector>

#include "libbiggan/models/model_config.h"
#include "libbiggan/util/json.h"

namespace c10 {
class IValue;
}

namespace biggan {

// X(type, name, default, flag, help): `flag` is the reference's command-line spelling when it
// differs from the name ("" = "--name"); for bool fields the flag stores !default (store_true /
// store_false), except toggle_grads, whose flag is store_true with default true (a no-op).
#define BIGGAN_CONFIG_FIELDS(X)                                                                    \
  /* data set / loader */                                                                          \
  X(std::string, dataset, "I128_hdf5", "", "data set: I32..I256 (ImageFolder), *_hdf5, C10, C100") \
  X(bool, augment, false, "", "random crops and flips")                                            \
  X(int64_t, num_workers, 8, "", "data loader workers")                                            \
  X(bool, pin_memory, true, "no_pin_memory", "pin loaded batches in memory")                       \
  X(bool, shuffle, false, "", "shuffle the data")                                                  \
  X(bool, load_in_mem, false, "", "load the whole data set into memory")                           \
  X(bool, use_multiepoch_sampler, false, "", "use the multi-epoch sampler")                        \
  /* model */                                                                                      \
  X(std::string, model, "BigGAN", "", "model: BigGAN or BigGANdeep")                               \
  X(std::string, G_param, "SN", "", "G parameterisation: SN or plain (anything else)")             \
  X(std::string, D_param, "SN", "", "D parameterisation: SN or plain (anything else)")             \
  X(int64_t, G_ch, 64, "", "G channel multiplier")                                                 \
  X(int64_t, D_ch, 64, "", "D channel multiplier")                                                 \
  X(int64_t, G_depth, 1, "", "resblocks per stage in G (BigGAN-deep)")                             \
  X(int64_t, D_depth, 1, "", "resblocks per stage in D (BigGAN-deep)")                             \
  X(bool, D_wide, true, "D_thin", "wide D channel pattern (the flag selects the SN-GAN pattern)")  \
  X(bool, G_shared, false, "", "shared class embedding in G")                                      \
  X(int64_t, shared_dim, 0, "", "shared embedding size; 0 means dim_z")                            \
  X(int64_t, dim_z, 128, "", "noise dimensionality")                                               \
  X(double, z_var, 1.0, "", "noise variance")                                                      \
  X(bool, hier, false, "", "hierarchical z in G")                                                  \
  X(bool, cross_replica, false, "", "cross-replica batchnorm in G")                                \
  X(bool, mybn, false, "", "myBN (supports standing statistics)")                                  \
  X(std::string, G_nl, "relu", "", "G activation: relu, inplace_relu, ir")                         \
  X(std::string, D_nl, "relu", "", "D activation: relu, inplace_relu, ir")                         \
  X(std::string, G_attn, "64", "", "G attention resolutions, underscore separated (0 = none)")     \
  X(std::string, D_attn, "64", "", "D attention resolutions, underscore separated (0 = none)")     \
  X(std::string, norm_style, "bn", "", "G normaliser: bn, in, gn, nonorm")                         \
  /* init */                                                                                       \
  X(int64_t, seed, 0, "", "random seed (init and data order)")                                     \
  X(std::string, G_init, "ortho", "", "G init: ortho, N02, glorot/xavier")                         \
  X(std::string, D_init, "ortho", "", "D init: ortho, N02, glorot/xavier")                         \
  X(bool, skip_init, false, "", "skip weight initialisation")                                      \
  /* optimiser */                                                                                  \
  X(double, G_lr, 5e-5, "", "G learning rate")                                                     \
  X(double, D_lr, 2e-4, "", "D learning rate")                                                     \
  X(double, G_B1, 0.0, "", "G Adam beta1")                                                         \
  X(double, D_B1, 0.0, "", "D Adam beta1")                                                         \
  X(double, G_B2, 0.999, "", "G Adam beta2")                                                       \
  X(double, D_B2, 0.999, "", "D Adam beta2")                                                       \
  /* batch size, parallelism, precision */                                                         \
  X(int64_t, batch_size, 64, "", "batch size")                                                     \
  X(int64_t, G_batch_size, 0, "", "G batch size; 0 means batch_size")                              \
  X(int64_t, num_G_accumulations, 1, "", "G gradient accumulations")                               \
  X(int64_t, num_D_steps, 2, "", "D steps per G step")                                             \
  X(int64_t, num_D_accumulations, 1, "", "D gradient accumulations")                               \
  X(bool, split_D, false, "", "run D separately on fake and real")                                 \
  X(std::string, DiffAugment, "", "", "DiffAugment policy for D's inputs: color,translation,cutout")  \
  X(bool, channels_last, false, "", "G's and D's activations channels-last (ours: faster CPU convolutions)") \
  X(bool, fold_resample, false, "", "fold G's upsampling and D's pooling into the next/previous 3x3 conv (ours: fewer multiply-adds)") \
  X(int64_t, num_epochs, 100, "", "epochs to train")                                               \
  X(bool, parallel, false, "", "train on several GPUs")                                            \
  X(bool, G_fp16, false, "", "half precision G")                                                   \
  X(bool, D_fp16, false, "", "half precision D")                                                   \
  X(bool, D_mixed_precision, false, "", "fp16 activations, fp32 params in D")                      \
  X(bool, G_mixed_precision, false, "", "fp16 activations, fp32 params in G")                      \
  X(bool, accumulate_stats, false, "", "accumulate standing BN statistics")                        \
  X(int64_t, num_standing_accumulations, 16, "", "forward passes for standing statistics")         \
  /* bookkeeping */                                                                                \
  X(bool, G_eval_mode, false, "", "G in eval mode at sample/test time")                            \
  X(int64_t, save_every, 2000, "", "save every N iterations (0: never)")                                      \
  X(int64_t, num_save_copies, 2, "", "rolling checkpoint copies")                                  \
  X(int64_t, num_best_copies, 2, "", "best checkpoint copies")                                     \
  X(std::string, which_best, "IS", "", "metric for best checkpoints: IS or FID")                   \
  X(bool, no_fid, false, "", "IS only, no FID")                                                    \
  X(int64_t, test_every, 5000, "", "test every N iterations (0: never)")                                      \
  X(int64_t, num_inception_images, 50000, "", "samples for the Inception metrics")                 \
  X(bool, hashname, false, "", "hash the experiment name")                                         \
  X(std::string, base_root, "", "", "base folder for all roots")                                   \
  X(std::string, data_root, "data", "", "data folder")                                             \
  X(std::string, weights_root, "weights", "", "weights folder")                                    \
  X(std::string, logs_root, "logs", "", "logs folder")                                             \
  X(std::string, samples_root, "samples", "", "samples folder")                                    \
  X(std::string, pbar, "mine", "", "progress bar style")                                           \
  X(std::string, name_suffix, "", "", "experiment name suffix for loading")                        \
  X(std::string, experiment_name, "", "", "experiment name (default: from the config)")            \
  X(bool, config_from_name, false, "", "config from the experiment name")                          \
  /* EMA */                                                                                        \
  X(bool, ema, false, "", "keep an EMA of G")                                                      \
  X(double, ema_decay, 0.9999, "", "EMA decay")                                                    \
  X(bool, use_ema, false, "", "evaluate with the EMA G")                                           \
  X(int64_t, ema_start, 0, "", "iteration at which the EMA starts decaying")                       \
  /* numerics and SVs */                                                                           \
  X(double, adam_eps, 1e-8, "", "Adam epsilon")                                                    \
  X(double, BN_eps, 1e-5, "", "batchnorm epsilon")                                                 \
  X(double, SN_eps, 1e-8, "", "spectral norm epsilon")                                             \
  X(int64_t, num_G_SVs, 1, "", "singular values tracked in G")                                     \
  X(int64_t, num_D_SVs, 1, "", "singular values tracked in D")                                     \
  X(int64_t, num_G_SV_itrs, 1, "", "power iterations in G")                                        \
  X(int64_t, num_D_SV_itrs, 1, "", "power iterations in D")                                        \
  /* ortho regularisation */                                                                       \
  X(double, G_ortho, 0.0, "", "G ortho regularisation strength")                                   \
  X(double, D_ortho, 0.0, "", "D ortho regularisation strength")                                   \
  X(bool, toggle_grads, true, "", "toggle requires_grad of the model not being trained")           \
  X(std::string, which_train_fn, "GAN", "", "training function")                                   \
  /* resuming */                                                                                   \
  X(std::string, load_weights, "", "", "weights suffix to load (best0, copy0)")                    \
  X(bool, resume, false, "", "resume training")                                                    \
  /* logging */                                                                                    \
  X(std::string, logstyle, "%3.3e", "", "training metric log style")                               \
  X(bool, log_G_spectra, false, "", "log G's top singular values")                                 \
  X(bool, log_D_spectra, false, "", "log D's top singular values")                                 \
  X(int64_t, sv_log_interval, 10, "", "iterations between SV logs (0: off)")                                \
  /* sample.py */                                                                                  \
  X(bool, sample_npz, false, "", "sample sample_num_npz images to an npz")                         \
  X(int64_t, sample_num_npz, 50000, "", "images for sample_npz")                                   \
  X(bool, sample_sheets, false, "", "class-conditional sample sheets")                             \
  X(bool, sample_interps, false, "", "interpolation sheets")                                       \
  X(int64_t, sample_sheet_folder_num, -1, "", "folder number for sample sheets")                   \
  X(bool, sample_random, false, "", "one random sheet")                                            \
  X(std::string, sample_trunc_curves, "", "", "truncation curve start_step_end")                   \
  X(bool, sample_inception_metrics, false, "", "Inception metrics in sample.py")                   \
  /* model constructor arguments without a flag (the classes' defaults) */                         \
  X(int64_t, G_kernel_size, 3, "-", "G kernel size (unused by the reference's layers)")            \
  X(int64_t, D_kernel_size, 3, "-", "D kernel size (unused by the reference's layers)")            \
  X(int64_t, bottom_width, 4, "-", "G's initial spatial size")                                     \
  X(int64_t, output_dim, 1, "-", "D output size")                                                  \
  X(bool, no_optim, false, "-", "model without optimiser (the EMA copy)")                          \
  /* TF-Hub BigGAN-deep (tfhub-convert), not the reference's: written only when not the default */ \
  X(int64_t, G_output_channels, 3, "-", "G output conv channels (SN over all; the first 3 kept)")  \
  X(double, G_output_BN_eps, 1e-5, "-", "G output BN epsilon")                                     \
  X(int64_t, G_BN_levels, 0, "-", "G BN statistics per truncation level (0: one set)")             \
  X(std::string, tfhub_module, "", "-", "the TF-Hub module kind this G was converted from")         \
  /* derived by train.py from the data set name */                                                 \
  X(int64_t, resolution, 128, "-", "image resolution (derived from dataset)")                      \
  X(int64_t, n_classes, 1000, "-", "number of classes (derived from dataset)")

struct Config {
#define BIGGAN_CONFIG_DECLARE(type, name, def, flag, help) type name = def;
  BIGGAN_CONFIG_FIELDS(BIGGAN_CONFIG_DECLARE)
#undef BIGGAN_CONFIG_DECLARE

  // Calls f(name, field&, flag, help) for every field, in table order.
  template <typename F>
  void for_each_field(F&& f) {
#define BIGGAN_CONFIG_VISIT(type, name, def, flag, help) f(#name, name, flag, help);
    BIGGAN_CONFIG_FIELDS(BIGGAN_CONFIG_VISIT)
#undef BIGGAN_CONFIG_VISIT
  }
  template <typename F>
  void for_each_field(F&& f) const {
#define BIGGAN_CONFIG_VISIT(type, name, def, flag, help) f(#name, name, flag, help);
    BIGGAN_CONFIG_FIELDS(BIGGAN_CONFIG_VISIT)
#undef BIGGAN_CONFIG_VISIT
  }

  // Members of `j` that name a field overwrite it (type-checked: a clear error naming `source`
  // and the key); other members are ignored. Ints are accepted for double fields.
  void update_from_json(const Json& j, const std::string& source);
  static Config from_json(const Json& j, const std::string& source);
  Json to_json() const;

  // The same from a dict IValue (the `config` entry of a reference state_dict.pth). Entries whose
  // value is not a plain bool/int/float/str (e.g. the pickled G_activation module) are ignored.
  void update_from_ivalue(const c10::IValue& dict, const std::string& source);
  static Config from_ivalue(const c10::IValue& dict, const std::string& source);
  // A Dict[str, Any] IValue of every field (for writing a state_dict.pth config).
  c10::IValue to_ivalue() const;

  // Applies reference-style command-line flags ("--dataset", "I32_hdf5", "--shuffle", ...), exactly
  // as the reference's argparse parser would. Unknown flags are an error naming `source`.
  void apply_reference_flags(const std::vector<std::string>& args, const std::string& source);

  // What train.py derives before building the models: resolution and n_classes from the data
  // set name (imsize_dict / nclass_dict), skip_init when resuming. Throws for an unknown data set.
  void derive_from_dataset();
  // The reference's base_root pegging (utils.update_config_roots).
  void update_roots();

  // Validation of what the models need (ModelConfig::validate of model_config(*this)) and of
  // z_var, which every sample is drawn with. Throws biggan::Error naming `source`.
  void validate_model(const std::string& source) const;
  // validate_model plus every training setting: float settings finite, counts and sizes in range,
  // Adam's betas in [0, 1), the log style one float conversion. Run before anything is written.
  void validate_training(const std::string& source) const;
};

// Throws unless `style` is one printf float conversion (%3.3e): it reaches snprintf.
void validate_logstyle(const std::string& style, const std::string& source);

// The model settings of `config` (what G / D are built from; see models/model_config.h).
ModelConfig model_config(const Config& config);

// utils.imsize_dict / nclass_dict; -1 when the data set name is unknown.
int64_t dataset_resolution(const std::string& dataset);
int64_t dataset_n_classes(const std::string& dataset);

// Splits a flags file's text (whitespace separated, as the shell would without quoting).
std::vector<std::string> split_flags(const std::string& text);
// A --flags-file recipe's text: '#' starts a comment to the end of its line, the rest is split_flags'.
std::vector<std::string> parse_flags_file_text(const std::string& text);

}  // namespace biggan
