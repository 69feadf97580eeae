// Random weights rebuilt from a seed instead of stored: a layout file (fixtures/inception/
// weights_<net>.txt, written by make_fixture.py) lists every tensor of a state dict in order with
// how its values were drawn; LibTorch's generator draws what Python's torch drew after the same
// manual_seed, so the ~100 MB Inception weights of the reference fixtures come back bit for bit.
// In the real file layouts: ours (zip, via our writer) here, and torch's legacy format written by
// Python's torch.save (write_legacy.py) where a test needs that layout.
#pragma once
#include <torch/torch.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "libbiggan/serialization/torch_file.h"
#include "tests/fixtures.h"

namespace biggan::test {

inline std::filesystem::path seeded_layout(const std::string& net) {
  return fixtures_root() / "inception" / ("weights_" + net + ".txt");
}

// The state dict the layout file describes: torch.manual_seed(seed), then for each line in order
// randn(shape) * scale + offset (float32) or zeros (int64).
inline torchfile::StateDict seeded_state_dict(const std::filesystem::path& layout) {
  std::ifstream in(layout);
  if (!in) throw std::runtime_error("cannot open " + layout.string());
  std::string line;
  std::getline(in, line);  // "# seed N: ..."
  int64_t seed = 0;
  if (std::sscanf(line.c_str(), "# seed %ld", &seed) != 1) throw std::runtime_error(layout.string() + ": no seed line");
  torch::manual_seed(seed);
  torchfile::StateDict sd;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    std::string name, dtype, shape_text;
    double scale = 0, offset = 0;
    if (!(fields >> name >> dtype >> shape_text >> scale >> offset))
      throw std::runtime_error(layout.string() + ": bad line '" + line + "'");
    std::vector<int64_t> shape;
    if (shape_text != "scalar") {
      std::istringstream dims(shape_text);
      for (std::string d; std::getline(dims, d, 'x');) shape.push_back(std::stoll(d));
    }
    if (dtype == "int64")
      sd.insert(name, torch::zeros(shape, torch::kInt64));
    else
      sd.insert(name, torch::randn(shape) * scale + offset);
  }
  return sd;
}

// The seeded weights of `net` ("torchvision" or "fid") written by our writer (torch's zip format)
// as dir/<net>_seeded.pth; returns the path.
inline std::string seeded_weights_file(const TempDir& dir, const std::string& net) {
  auto out = dir / (net + "_seeded.pth");
  if (!std::filesystem::exists(out)) torchfile::save_state_dict(out.string(), seeded_state_dict(seeded_layout(net)));
  return out.string();
}

// The same weights in torch's legacy (pre-1.6) format, as Python's torch.save writes them (the
// layout of the released Inception files); "" when /usr/bin/python3 with torch is missing.
inline std::string seeded_legacy_weights_file(const TempDir& dir, const std::string& net) {
  auto out = dir / (net + "_seeded_legacy.pth");
  if (std::filesystem::exists(out)) return out.string();
  const auto script = fixtures_root() / "inception" / "write_legacy.py";
  const std::string cmd = "/usr/bin/python3 '" + script.string() + "' '" + seeded_layout(net).string() + "' '" +
                          out.string() + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return "";
  return out.string();
}

}  // namespace biggan::test
