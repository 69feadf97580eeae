// The command-line flags that choose a feature network, shared by inception-moments and fid.
#pragma once
#include <cxxopts.hpp>

#include "libbiggan/metrics/feature_extractor.h"
#include "libbiggan/metrics/feature_run.h"

namespace biggan::metrics {

// --network, --features, --weights (alias --inception-weights), --random-weights, --no-channels-last,
// --batch-size, --limit, --hdf5-dataset. --device and --progress are common flags
// (util/common_flags.h): a tool using these options takes kDeviceFlag | kProgressFlag.
void add_feature_options(cxxopts::Options& opts);
ExtractorOptions extractor_options(const cxxopts::ParseResult& args);
FeatureRunOptions run_options(const cxxopts::ParseResult& args);

// The label printed after every number computed with random weights.
inline const char* kRandomWeightsLabel = "[RANDOM WEIGHTS: meaningless]";

}  // namespace biggan::metrics
