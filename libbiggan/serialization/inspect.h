// What ckpt-inspect reports about a torch file or a BigGAN weights folder, as JSON (the data)
// and as text (for people): the training state and config, every tensor's name, shape, dtype,
// parameter counts per module, optimiser summaries and, with stats, per-tensor statistics and the
// singular values of spectrally normalised weights next to what their sv buffers say.
#pragma once
#include <string>

#include "libbiggan/util/json.h"

namespace biggan {

struct InspectOptions {
  bool stats = false;
};

// A single .pth file (state dict, optimiser state, training state or anything loadable).
Json inspect_torch_file(const std::string& path, const InspectOptions& options);
// A weights folder: every .pth in it (G, D, G_ema, optimisers, state_dict, copies, bests).
Json inspect_path(const std::string& path, const InspectOptions& options);

std::string format_inspection(const Json& report);

}  // namespace biggan
