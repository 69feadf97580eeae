// A BigGAN-PyTorch weights folder: G.pth, G_optim.pth, D.pth, D_optim.pth, state_dict.pth and
// G_ema.pth (utils.save_weights / load_weights), optionally with a suffix (G_copy0.pth, G_best1.pth).
// Both projects read each other's folders. Saving is crash-safe: every file is first written
// completely under a temporary name and synced, then all are renamed into place with
// state_dict.pth last, so an interrupted save leaves the previous save loadable.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>

#include "libbiggan/models/state_dict.h"
#include "libbiggan/training/train_state.h"

namespace biggan {



// "G" + suffix -> "G_copy0.pth" (the reference's join_strings('_', ...)).
std::string weights_file_name(const std::string& what, const std::string& suffix);

struct WeightsFolderContents {
  StateDict G, D, G_ema;          // empty when absent
  c10::IValue G_optim, D_optim;   // None when absent
  std::optional<TrainState> state;
};

// Writes the given parts (empty / None parts are skipped). Creates `dir` if needed.
void save_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                         const WeightsFolderContents& contents);

// Reads whatever of the six files exists; `require` lists the parts that must be there
// (e.g. {"G", "state_dict"}), naming the missing file otherwise.
WeightsFolderContents load_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                                          const std::vector<std::string>& require);

}  // namespace biggan
