#include "libbiggan/training/weights_folder.h"

#include <algorithm>

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/training/save_manifest.h"
#include "libbiggan/util/atomic_file.h"
#include "libbiggan/util/error.h"

namespace biggan {
namespace fs = std::filesystem;
namespace {

// Every part but state_dict, in the order they are written.
const std::vector<std::string> kParts = {"G", "G_optim", "D", "D_optim", "G_ema"};

// The save a reader sees: a committed but unfinished one (its staged state_dict.pth exists) wins
// over the files on their final names, whose renames it had not finished.
struct SaveView {
  fs::path dir;
  std::string suffix;
  bool pending = false;
  fs::path state_file;  // empty: the folder has no state_dict
  c10::IValue state;
  std::optional<SaveManifest> manifest;

  fs::path file_of(const std::string& what) const {
    if (pending) {
      auto staged = dir / staged_file_name(what, suffix);
      if (fs::exists(staged)) return staged;
    }
    return dir / weights_file_name(what, suffix);
  }
  bool in_save(const std::string& what) const {
    if (manifest) return manifest->files.count(weights_file_name(what, suffix)) > 0;
    return fs::exists(file_of(what));
  }
  void check(const std::string& what) const {
    if (manifest) check_file_in_save(*manifest, weights_file_name(what, suffix), file_of(what), state_file);
  }
};

SaveView open_save(const fs::path& dir, const std::string& suffix) {
  SaveView v;
  v.dir = dir;
  v.suffix = suffix;
  const auto staged_state = dir / staged_file_name("state_dict", suffix);
  const auto final_state = dir / weights_file_name("state_dict", suffix);
  if (fs::exists(staged_state)) {
    v.pending = true;
    v.state_file = staged_state;
  } else if (fs::exists(final_state)) {
    v.state_file = final_state;
  }
  if (v.state_file.empty()) return v;
  v.state = torchfile::load(v.state_file.string());
  v.manifest = SaveManifest::from_state(v.state, v.state_file.string());
  if (v.manifest)
    for (const auto& [name, digest] : v.manifest->files) {
      bool known = false;
      for (const auto& what : kParts) known = known || name == weights_file_name(what, suffix);
      if (!known) throw input_error(v.state_file.string(), "the save manifest names an unexpected file '" + name + "'");
    }
  return v;
}

// Step 3 of a save (see the header): staged parts onto their names, then state_dict.pth. With
// `verify` (completing someone else's interrupted save) every part is checked first.
void finish_commit(const SaveView& v, bool verify) {
  if (verify)
    for (const auto& what : kParts)
      if (v.in_save(what)) v.check(what);
  for (const auto& what : kParts) {
    auto staged = v.dir / staged_file_name(what, v.suffix);
    if (v.manifest->files.count(weights_file_name(what, v.suffix)) && fs::exists(staged))
      rename_file(staged, v.dir / weights_file_name(what, v.suffix));
  }
  fsync_path(v.dir);  // the parts are in place before state_dict.pth says the save is done
  rename_file(v.state_file, v.dir / weights_file_name("state_dict", v.suffix));
  fsync_path(v.dir);
}

// Staged files and temp files of this suffix that no committed save refers to.
bool remove_leftovers(const fs::path& dir, const std::string& suffix) {
  bool removed = false;
  std::vector<std::string> all = kParts;
  all.push_back("state_dict");
  std::vector<fs::path> doomed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    for (const auto& what : all) {
      const auto staged = staged_file_name(what, suffix);
      if (name == staged || is_temp_file_of(name, staged) || is_temp_file_of(name, weights_file_name(what, suffix)))
        doomed.push_back(entry.path());
    }
  }
  for (const auto& p : doomed) {
    std::error_code ec;
    removed = fs::remove(p, ec) || removed;
    if (ec) throw input_error(p.string(), "cannot remove the leftover of an interrupted save: " + ec.message());
  }
  return removed;
}

}  // namespace

std::string weights_file_name(const std::string& what, const std::string& suffix) {
  return (suffix.empty() ? what : what + "_" + suffix) + ".pth";
}

std::string staged_file_name(const std::string& what, const std::string& suffix) {
  return ".staged." + weights_file_name(what, suffix);
}

Recovery recover_weights_folder(const fs::path& dir, const std::string& suffix) {
  if (!fs::is_directory(dir)) return Recovery::kNothing;
  auto v = open_save(dir, suffix);
  bool completed = false;
  if (v.pending) {
    if (!v.manifest)
      throw input_error(v.state_file.string(), "an interrupted save without a manifest: cannot tell which files are its own");
    finish_commit(v, true);
    completed = true;
  }
  const bool removed = remove_leftovers(dir, suffix);
  if (removed) fsync_path(dir);
  return completed ? Recovery::kCompletedSave : removed ? Recovery::kRemovedLeftovers : Recovery::kNothing;
}

void save_weights_folder(const fs::path& dir, const std::string& suffix, const WeightsFolderContents& c) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw input_error(dir.string(), "cannot create weights folder: " + ec.message());
  recover_weights_folder(dir, suffix);  // never stage over an unfinished save
  std::vector<std::pair<std::string, c10::IValue>> parts;
  if (!c.G.is_empty()) parts.emplace_back("G", torchfile::to_ivalue(c.G));
  if (!c.G_optim.isNone()) parts.emplace_back("G_optim", c.G_optim);
  if (!c.D.is_empty()) parts.emplace_back("D", torchfile::to_ivalue(c.D));
  if (!c.D_optim.isNone()) parts.emplace_back("D_optim", c.D_optim);
  if (!c.G_ema.is_empty()) parts.emplace_back("G_ema", torchfile::to_ivalue(c.G_ema));
  if (!c.state) {  // no state_dict.pth to hold a manifest: each file on its own
    for (const auto& [what, value] : parts) torchfile::save((dir / weights_file_name(what, suffix)).string(), value);
    return;
  }
  SaveView v;
  v.dir = dir;
  v.suffix = suffix;
  v.pending = true;
  v.state_file = dir / staged_file_name("state_dict", suffix);
  v.manifest = SaveManifest();
  try {
    for (const auto& [what, value] : parts) {  // step 1
      const auto staged = dir / staged_file_name(what, suffix);
      torchfile::save(staged.string(), value);
      v.manifest->files[weights_file_name(what, suffix)] = digest_file(staged);
    }
    c10::IValue state = c.state->to_ivalue();  // step 2: the commit
    v.manifest->add_to(state);
    torchfile::save(v.state_file.string(), state);
  } catch (...) {
    // The previous save was not touched: only staged files exist, and they go.
    try {
      remove_leftovers(dir, suffix);
    } catch (const Error&) {
    }
    throw;
  }
  finish_commit(v, false);  // step 3
}

WeightsFolderContents load_weights_folder(const fs::path& dir, const std::string& suffix,
                                          const std::vector<std::string>& require) {
  if (!fs::is_directory(dir)) throw input_error(dir.string(), "not a weights folder");
  auto required = [&](const std::string& what) {
    return std::find(require.begin(), require.end(), what) != require.end();
  };
  const auto v = open_save(dir, suffix);
  if (v.state_file.empty() && required("state_dict"))
    throw input_error((dir / weights_file_name("state_dict", suffix)).string(), "missing from the weights folder");
  auto path_of = [&](const std::string& what) -> std::optional<std::string> {
    const auto p = v.file_of(what);
    if (!v.in_save(what)) {
      if (!required(what)) return std::nullopt;
      if (v.manifest && fs::exists(p))
        throw input_error(p.string(), "not part of the save recorded in " + v.state_file.filename().string());
      throw input_error(p.string(), "missing from the weights folder");
    }
    v.check(what);
    return p.string();
  };
  WeightsFolderContents c;
  if (auto p = path_of("G")) c.G = torchfile::load_state_dict(*p);
  if (auto p = path_of("D")) c.D = torchfile::load_state_dict(*p);
  if (auto p = path_of("G_ema")) c.G_ema = torchfile::load_state_dict(*p);
  if (auto p = path_of("G_optim")) c.G_optim = torchfile::load(*p);
  if (auto p = path_of("D_optim")) c.D_optim = torchfile::load(*p);
  if (!v.state_file.empty()) c.state = TrainState::from_ivalue(v.state, v.state_file.string());
  return c;
}

fs::path verified_weights_file(const fs::path& dir, const std::string& suffix, const std::string& what) {
  const auto v = open_save(dir, suffix);
  if (what == "state_dict") {
    if (v.state_file.empty())
      throw input_error((dir / weights_file_name(what, suffix)).string(), "missing from the weights folder");
    return v.state_file;
  }
  const auto p = v.file_of(what);
  if (v.manifest) v.check(what);
  else if (!fs::exists(p)) throw input_error(p.string(), "missing from the weights folder");
  return p;
}

std::string keep_newest_save(const std::filesystem::path& dir, const std::vector<std::string>& suffixes,
                             int64_t at_or_before, const std::string& to_suffix) {
  std::string chosen;
  int64_t chosen_itr = -1;
  for (const auto& suffix : suffixes) {
    try {
      const auto file = verified_weights_file(dir, suffix, "state_dict");
      const auto itr = TrainState::from_ivalue(torchfile::load(file.string()), file.string()).itr;
      if (itr <= at_or_before && itr > chosen_itr) chosen = suffix, chosen_itr = itr;
    } catch (const Error&) {  // no such save (yet), or unreadable: not a candidate
    }
  }
  if (chosen_itr < 0) return "no save predates itr " + std::to_string(at_or_before) + ", so none is kept";
  try {
    save_weights_folder(dir, to_suffix, load_weights_folder(dir, chosen, {"G", "state_dict"}));
  } catch (const Error& e) {
    return std::string("keeping the save of itr ") + std::to_string(chosen_itr) + " failed: " + e.what();
  }
  return "the save of itr " + std::to_string(chosen_itr) + " is kept as " +
         (dir / weights_file_name("G", to_suffix)).string() + " and its siblings (--suffix " + to_suffix + ")";
}

}  // namespace biggan
