// --cross_replica across processes (the reference's sync_batchnorm over its devices): while a
// training step runs, every SyncBN layer of G takes its batch statistics over the global batch,
// all ranks' rows together, and the gradients flow back through the same sums.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "libbiggan/models/layers.h"
#include "libbiggan/training/distributed.h"

namespace biggan {

// The sum of `t` over ranks; its backward sums the incoming gradients over ranks as well (every
// rank's loss depends on every rank's rows through the statistics).
torch::Tensor all_reduce_sum_with_grad(Distributed& dist, const torch::Tensor& t);

// While alive, the SyncBN layers under `root` (train mode) normalise with the joined batch's
// statistics; outside it (sample sheets and tests, which rank 0 runs alone) each process's own.
class CrossReplicaBatchNorm {
 public:
  CrossReplicaBatchNorm(torch::nn::Module& root, Distributed& dist);
  ~CrossReplicaBatchNorm();
  CrossReplicaBatchNorm(const CrossReplicaBatchNorm&) = delete;
  CrossReplicaBatchNorm& operator=(const CrossReplicaBatchNorm&) = delete;
  size_t layers() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<SyncBNImpl>> layers_;
};

}  // namespace biggan
