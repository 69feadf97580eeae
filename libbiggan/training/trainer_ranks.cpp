// The trainer's part in a run of several processes (training/distributed.h): joining the ranks,
// and agreeing on each step's losses and on when to stop.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "libbiggan/training/trainer.h"
#include "libbiggan/util/error.h"

namespace biggan {

void Trainer::connect_ranks() {
  const auto env = distributed_env_from_environment();
  if (!env.active()) {
    if (config_.parallel)
      std::cerr << "gan-train: note: --parallel with one process (WORLD_SIZE is not set) changes nothing; to "
                   "train on several devices start one process per device (torchrun, scripts/launch-local.sh; "
                   "docs/distributed.md)\n";
    return;
  }
  const int64_t world = env.world_size, g_batch = std::max(config_.G_batch_size, config_.batch_size);
  // DataParallel's meaning: --batch_size is the global batch, split evenly over the processes.
  if (config_.batch_size % world != 0 || g_batch % world != 0)
    throw Error("--batch_size " + std::to_string(config_.batch_size) +
                (g_batch != config_.batch_size ? " (--G_batch_size " + std::to_string(g_batch) + ")" : "") +
                " does not split over WORLD_SIZE=" + std::to_string(world) +
                " processes: the batch is the global one, and each process takes an equal share");
  dist_ = Distributed::connect(env, options_.distributed, options_.device);
  writer_ = dist_->rank() == 0;
  if (!writer_) {  // rank 0 alone writes and watches; the others train and make their share of each test
    options_.sample_sheets = false;
    options_.watch_collapse = false;
    options_.progress = false;
    return;
  }
  std::cerr << "gan-train: " << world << " processes (" << dist_->backend() << "), each takes "
            << config_.batch_size / world << " of the batch of " << config_.batch_size << "; batch norm "
            << (config_.cross_replica ? "over all of them (--cross_replica)" : "per process") << "\n";
}

void Trainer::agree_on_losses(StepLosses& losses, bool stop_here) {
  auto t = torch::tensor({losses.G_loss, losses.D_loss_real, losses.D_loss_fake, stop_here ? 1.0 : 0.0},
                         torch::kDouble)
               .to(options_.device);
  dist_->all_reduce_sum({t}, "the losses");
  t = t.cpu() / static_cast<double>(dist_->world_size());
  // Each rank's loss is the mean over its equal share, so their mean is the global batch's.
  losses.G_loss = t[0].item<double>();
  losses.D_loss_real = t[1].item<double>();
  losses.D_loss_fake = t[2].item<double>();
  if (t[3].item<double>() > 0) stop_agreed_ = true;
}

void Trainer::report_collectives(double loop_seconds) const {
  if (!writer_ || loop_seconds <= 0) return;
  const double c = dist_->collective_seconds();
  std::fprintf(stderr, "gan-train: rank 0 spent %.2f s of %.2f s training in collectives (%.1f%%: all-reduces, "
               "including waits for slower ranks)\n", c, loop_seconds, 100.0 * c / loop_seconds);
}

}  // namespace biggan
