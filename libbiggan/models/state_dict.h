// State dicts with the reference's keys and key order, and checked loading.
#pragma once
#include <torch/torch.h>

#include <string>

namespace biggan {

using StateDict = torch::OrderedDict<std::string, torch::Tensor>;

// Python's Module.state_dict() order: for each module in pre-order, its own parameters, then its
// own buffers, then its children. The tensors alias the module's (no copies).
StateDict state_dict(const torch::nn::Module& module);

// Copies `sd` into the module's parameters and buffers (converting dtype as torch does). Every
// key and shape is checked first; all missing keys, unexpected keys and shape mismatches are
// reported together in one biggan::Error naming `source`, and nothing is changed then.
void load_state_dict(torch::nn::Module& module, const StateDict& sd, const std::string& source);

// Deep copy (detached clones), e.g. to snapshot a model before a step.
StateDict clone_state_dict(const StateDict& sd);

}  // namespace biggan
