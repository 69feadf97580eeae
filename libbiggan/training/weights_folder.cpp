#include "libbiggan/training/weights_folder.h"

#include "libbiggan/serialization/torch_file.h"
#include "libbiggan/util/error.h"

namespace biggan {

std::string weights_file_name(const std::string& what, const std::string& suffix) {
  return (suffix.empty() ? what : what + "_" + suffix) + ".pth";
}

void save_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                         const WeightsFolderContents& c) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw input_error(dir.string(), "cannot create weights folder: " + ec.message());
  // Stage every file under a hidden name first (each write is itself atomic and synced).
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged;  // (tmp, final)
  auto stage = [&](const std::string& what, const c10::IValue& value) {
    auto final_path = dir / weights_file_name(what, suffix);
    auto tmp = dir / (".staged." + final_path.filename().string());
    torchfile::save(tmp.string(), value);
    staged.emplace_back(tmp, final_path);
  };
  try {
    if (!c.G.is_empty()) stage("G", torchfile::to_ivalue(c.G));
    if (!c.G_optim.isNone()) stage("G_optim", c.G_optim);
    if (!c.D.is_empty()) stage("D", torchfile::to_ivalue(c.D));
    if (!c.D_optim.isNone()) stage("D_optim", c.D_optim);
    if (!c.G_ema.is_empty()) stage("G_ema", torchfile::to_ivalue(c.G_ema));
    if (c.state) stage("state_dict", c.state->to_ivalue());
  } catch (...) {
    for (auto& [tmp, f] : staged) std::filesystem::remove(tmp, ec);
    throw;
  }
  // state_dict.pth goes last: its itr tells which save the folder holds.
  for (auto& [tmp, final_path] : staged) {
    std::filesystem::rename(tmp, final_path, ec);
    if (ec) throw input_error(final_path.string(), "cannot move the new file into place: " + ec.message());
  }
}

WeightsFolderContents load_weights_folder(const std::filesystem::path& dir, const std::string& suffix,
                                          const std::vector<std::string>& require) {
  if (!std::filesystem::is_directory(dir)) throw input_error(dir.string(), "not a weights folder");
  auto required = [&](const std::string& what) {
    return std::find(require.begin(), require.end(), what) != require.end();
  };
  auto path_of = [&](const std::string& what) -> std::optional<std::string> {
    auto p = dir / weights_file_name(what, suffix);
    if (std::filesystem::exists(p)) return p.string();
    if (required(what)) throw input_error(p.string(), "missing from the weights folder");
    return std::nullopt;
  };
  WeightsFolderContents c;
  if (auto p = path_of("G")) c.G = torchfile::load_state_dict(*p);
  if (auto p = path_of("D")) c.D = torchfile::load_state_dict(*p);
  if (auto p = path_of("G_ema")) c.G_ema = torchfile::load_state_dict(*p);
  if (auto p = path_of("G_optim")) c.G_optim = torchfile::load(*p);
  if (auto p = path_of("D_optim")) c.D_optim = torchfile::load(*p);
  if (auto p = path_of("state_dict")) c.state = TrainState::from_ivalue(torchfile::load(*p), *p);
  return c;
}

}  // namespace biggan
