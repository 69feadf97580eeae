// Standing statistics for G's plain BN layers (mybn off, as in tfhub-convert's folders): every BN's
// stored_mean / stored_var replaced by the average of the batch statistics of `num_batches`
// forwards of fresh latents from `sampler` (its truncation included). Only the BN layers run in train
// mode, so spectral norm's u vectors stay as they are (utils.accumulate_standing_stats would move
// them, and without myBN it only blends the statistics by momentum 0.1). BN layers that keep
// statistics per truncation level (G_BN_levels) are left alone. Used by gan-sample --truncation on a
// converted TF-Hub BigGAN folder, whose module keeps no per-truncation statistics we can read.
#pragma once
#include <cstdint>

#include "libbiggan/models/model.h"
#include "libbiggan/training/sampling.h"

namespace biggan {

// Returns the number of BN layers averaged; G is left in eval mode.
int64_t average_bn_statistics(GeneratorImpl& G, LatentSampler& sampler, int64_t num_batches);

}  // namespace biggan
