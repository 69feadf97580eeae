// A run's Config set right by the weights it loads: the one path every loader of a weights folder
// takes (load_generator for gan-sample, ckpt-inspect, gan-train --resume and --resume_from).
// The architecture comes from the tensors (models/architecture_inference.h); where a stored config
// (state_dict.pth, a JSON file) says otherwise, the tensors win and each difference is a one-line
// warning. Settings given on the command line are kept as given: if they contradict the tensors,
// the load that follows reports the mismatching shapes.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "libbiggan/models/architecture_inference.h"
#include "libbiggan/serialization/module_state.h"
#include "libbiggan/training/config.h"
#include "libbiggan/util/json.h"

namespace c10 {
class IValue;
}

namespace biggan {

// Where a config's keys came from.
struct ConfigKeys {
  std::set<std::string> stated;    // set by a stored config: a difference from the tensors is a warning
  std::set<std::string> explicit_; // set on the command line: kept even against the tensors
};

struct ReconciledConfig {
  Config config;                       // the input with the architecture the tensors show
  ArchitectureInference inference;
  std::vector<std::string> warnings;   // "config says G_ch 32, the tensors 8: using 8", one per difference
  std::vector<std::string> assumptions;  // inference.assumed whose key no config set
};

// `config` with every architecture field the tensors decide (and no explicit key holds) taken
// from them. G / D may be null (not both). Throws biggan::Error naming `source` when the tensors
// are no BigGAN G / D.
ReconciledConfig reconcile_with_tensors(const Config& config, const ConfigKeys& keys, const StateDict* G,
                                        const StateDict* D, const std::string& source);

// The Config fields a config dict (a state_dict.pth's `config`), a JSON object or reference-style
// flags set. A flag's spelling maps to its field (--D_thin -> D_wide); --dataset also sets
// resolution and n_classes, as the reference derives them.
std::set<std::string> config_keys(const c10::IValue& dict);
std::set<std::string> config_keys(const Json& object);
std::set<std::string> flag_keys(const std::vector<std::string>& flags);

// The architecture fields of `config` set from `model` (those named in `fields`).
void apply_architecture(Config& config, const ModelConfig& model, const std::vector<std::string>& fields);

// One line for people: "BigGAN 128x128, 1000 classes, G_ch 96, ..." of the decided fields.
std::string architecture_summary(const ModelConfig& config);

}  // namespace biggan
