// A BigGAN-PyTorch weights folder: G.pth, G_optim.pth, D.pth, D_optim.pth, state_dict.pth and
// G_ema.pth (utils.save_weights / load_weights), optionally with a suffix (G_copy0.pth, G_best1.pth).
// Both projects read each other's folders.
//
// A save is atomic as a whole (docs/checkpoints.md):
//  1. every part is written completely under its staged name (.staged.G.pth, ...) and synced;
//  2. the staged state_dict.pth, holding the save's manifest (each part's size and CRC32), is
//     written last: from this instant the new save exists completely in the folder (the commit);
//  3. the staged parts are renamed into place, the folder synced, then state_dict.pth.
// A kill in 1 leaves the previous save untouched (the leftovers are removed by the next save or
// resume); a kill in 3 leaves a mix of files on their final names plus the staged rest, which
// every loader reads as the new save and the next save or resume completes (rolls forward).
// Loading checks every part against the manifest: a mix of two saves is an error naming the file.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/train_state.h"

namespace biggan {

// "G" + suffix -> "G_copy0.pth" (the reference's join_strings('_', ...)).
std::string weights_file_name(const std::string& what, const std::string& suffix);
// The name a part has while its save is being written: ".staged.G_copy0.pth".
std::string staged_file_name(const std::string& what, const std::string& suffix);

struct WeightsFolderContents {
  StateDict G, D, G_ema;          // empty when absent
  c10::IValue G_optim, D_optim;   // None when absent
  std::optional<TrainState> state;
};

// Writes the given parts (empty / None parts are skipped) as one save. Creates `dir` if needed.
// Without a state there is no manifest: each file is then replaced atomically on its own.
void save_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                         const WeightsFolderContents& contents);

// Reads whatever of the six files the save holds; `require` lists the parts that must be there
// (e.g. {"G", "state_dict"}), naming the missing file otherwise. Every part read is checked against
// the manifest when the save has one.
WeightsFolderContents load_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                                          const std::vector<std::string>& require);

// The file to read part `what` ("G", "G_ema", "state_dict") of the save with `suffix` from, after
// checking it against the save's manifest (if any); a missing part is an error naming its file.
std::filesystem::path verified_weights_file(const std::filesystem::path& dir, const std::string& suffix,
                                            const std::string& what);

// What recover_weights_folder found.
enum class Recovery { kNothing, kRemovedLeftovers, kCompletedSave };

// Completes a save that was interrupted after its commit, and removes the leftovers of one
// interrupted before it. Save and resume call it; harmless on a clean or missing folder.
Recovery recover_weights_folder(const std::filesystem::path& dir, const std::string& suffix);

// Copies the newest of the saves `suffixes` made at or before itr `at_or_before` (G and
// state_dict required; unreadable saves are not candidates) to the suffix `to_suffix`. Returns
// what was done, as a sentence for the log.
std::string keep_newest_save(const std::filesystem::path& dir, const std::vector<std::string>& suffixes,
                             int64_t at_or_before, const std::string& to_suffix);

}  // namespace biggan
