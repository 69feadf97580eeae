// Opening a generator for sampling: a BigGAN-PyTorch (or our) weights folder, or one G .pth file,
// with its config from the folder's state_dict.pth, a JSON file and/or reference-style flags.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "libbiggan/models/model.h"
#include "libbiggan/training/config.h"
#include "libbiggan/training/train_state.h"

namespace biggan {

struct GeneratorSource {
  // A weights folder (G.pth / G_ema.pth / state_dict.pth, optionally with a suffix), or one .pth
  // file holding a G state dict (its config then comes from state_dict[_suffix].pth beside it when
  // present, and/or config_json / flags).
  std::string weights;
  // "G", "G_ema", or "" for G_ema when the folder has it (the reference's use_ema), else G.
  std::string which;
  std::string suffix;       // copy0, best1, ... ("" = none)
  std::string config_json;  // a JSON config (ours, or a fixture's config.json), applied over the state's
  std::vector<std::string> flags;  // reference-style flags ("--G_ch", "32", ...), applied last
};

struct LoadedGenerator {
  Generator G{nullptr};
  Config config;                    // what G was built from (skip_init, no_optim set)
  std::optional<TrainState> state;  // the folder's state_dict.pth when read
  std::string weights_file;         // the .pth file loaded into G
  std::string which;                // "G" or "G_ema"
  // Where the stored config contradicted the tensors (the tensors won), one line each; also on stderr.
  std::vector<std::string> warnings;
};

// The architecture is read off the G tensors (config_from_tensors.h): a missing, incomplete or
// contradicting stored config is no error (each difference a warning on stderr, the assumptions a
// note); --flags keep their word, so flags that contradict the tensors fail the load.
// Builds G from the config (drawing from torch's generator as the reference's sample.py does:
// module construction with skip_init) and loads the weights, checking every key and shape (all
// mismatches are reported in one error naming the file). G is left in eval mode.
// Errors (missing files, no config, bad config, mismatches) are one-line biggan::Errors.
LoadedGenerator load_generator(const GeneratorSource& source);

}  // namespace biggan
