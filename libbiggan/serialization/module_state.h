// A module's state dict (its parameters and buffers by dotted name, in Python's order) and the one
// checked loader every network uses: the BigGAN models, both Inception networks and the
// Fashion-MNIST classifier.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

namespace biggan {

using StateDict = torch::OrderedDict<std::string, torch::Tensor>;

// Python's Module.state_dict() order: for each module in pre-order, its own parameters, then its
// own buffers, then its children. The tensors alias the module's (no copies).
StateDict state_dict(const torch::nn::Module& module);

// Deep copy (detached clones), e.g. to snapshot a model before a step.
StateDict clone_state_dict(const StateDict& sd);

// The same tensors, but each one that is a view into a larger buffer (training's flat Adam and EMA
// buffers) replaced by a copy of its own: what a save of the module holds, one storage per tensor
// as the reference's files do, not the whole buffer (torch files keep views' sharing).
StateDict with_own_storages(const StateDict& sd);

// What a network's files may differ in from its module, beyond the strict rule (same keys).
struct StateDictLoadOptions {
  // Module tensors a file may lack (they are left as they are), e.g. BatchNorm's
  // num_batches_tracked, which older torchvision files do not hold.
  std::function<bool(const std::string& key)> optional_key;
  // File entries that are no module tensor but part of the file's format (left alone), e.g. the
  // classifier's arch.* entries.
  std::function<bool(const std::string& key)> file_only_key;
  // What the module is, for the message ("... cannot be loaded into <into>: ..."); "" says nothing.
  std::string into;
};

// Copies `sd` into the module's parameters and buffers, converting the dtype within its kind as
// torch does (float64 -> float32; an integer tensor for a float one is a mismatch). Everything is
// checked first: missing keys, unexpected keys, shape mismatches, dtype-kind mismatches and NaN or
// infinite values are reported together in one one-line biggan::Error naming `source`, and then
// nothing is changed.
void load_state_dict(torch::nn::Module& module, const StateDict& sd, const std::string& source,
                     const StateDictLoadOptions& options = {});

}  // namespace biggan
