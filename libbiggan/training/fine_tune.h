// Fine-tuning from another run's weights with another class count (BigGAN-PyTorch #26, #43):
// gan-train --resume_from W --n_classes K. The new run builds its models as usual (seed, init), then
// takes every layer of W that fits: a layer (the tensors under one module, e.g. embed.weight,
// embed.u0, embed.sv0) loads whole when every one of its tensors has the model's shape, and keeps
// its fresh init otherwise (the class embeddings and projections: G's `shared` or its class-BN
// embeddings, D's `embed`). Adam's state loads for the parameters taken and starts afresh for the
// re-initialised ones; the learning rates and betas are the new run's flags.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/gan.h"
#include "libbiggan/training/weights_folder.h"

namespace biggan {

// The keys of `module` left at their init, each "key [new shape] (W has [old shape])" or
// "key (not in W)", in state-dict order.
struct FittedLoad {
  std::vector<std::string> reinitialised;  // keys kept at their init
  std::vector<std::string> described;      // the same, with shapes, for people
  size_t loaded = 0;                       // tensors taken from W
};

// Copies every layer of `from` that fits into `module` (see above). Unexpected keys of `from` are
// ignored; NaN / infinite values are an error naming `source` before anything is changed.
FittedLoad load_fitting_layers(torch::nn::Module& module, const StateDict& from, const std::string& source);

// The whole fine-tuning load into a freshly built Gan: G, D, G_ema (W's, else G's; a re-initialised
// G_ema layer starts as G's, as the EMA does at the start of a run) and both optimisers. Prints the
// re-initialised tensors to `log`, one line each. `source` names W.
void fine_tune_from(Gan& gan, const WeightsFolderContents& w, const std::string& source, std::ostream& log);

}  // namespace biggan
