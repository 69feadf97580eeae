// Training in several processes on torch.distributed's engine (c10d): a TCPStore rendezvous and a
// process group (Gloo on the CPU, NCCL on CUDA), as torchrun and DDP set them up. Each process is
// one rank; the environment says which (torchrun's convention: RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT; scripts/launch-local.sh sets the same).
//
// A rank that dies or hangs must not leave the others waiting forever: every collective waits at
// most the timeout, and a failure names the ranks whose heartbeat (a counter each rank bumps in the
// store every second) stopped, or rank 0 when the store it hosts is gone.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace biggan {

// Where this process stands among the ranks of a run.
struct DistributedEnv {
  int rank = 0, world_size = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool active() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT through `lookup` (none set: one
// process). A malformed or inconsistent value is an Error naming the variable.
DistributedEnv parse_distributed_env(const std::function<std::optional<std::string>(const std::string&)>& lookup);
// The same from this process's environment.
DistributedEnv distributed_env_from_environment();

struct DistributedOptions {
  std::string backend = "auto";              // auto (nccl on CUDA, else gloo), gloo or nccl
  std::chrono::milliseconds timeout{1800000};  // the longest a collective waits (torch's default: 30 min)
};

// The backend `name` means on `device` ("auto" resolved); an Error for one this build lacks.
std::string resolve_backend(const std::string& name, torch::Device device);

// The ranks of one run, connected. Every collective must be called by every rank in the same order.
class Distributed {
 public:
  // Rendezvous at MASTER_ADDR:MASTER_PORT (rank 0 hosts the store) and builds the process group.
  static std::unique_ptr<Distributed> connect(const DistributedEnv& env, const DistributedOptions& options,
                                              torch::Device device);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const;
  int world_size() const;
  const std::string& backend() const;

  // In place: each tensor becomes its sum over ranks (same shapes everywhere). Tensors are packed
  // into flat buckets of one dtype and device, at most bucket_bytes each; `what` names them in errors.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // In place: the element-wise maximum over ranks.
  void all_reduce_max(torch::Tensor& tensor, const std::string& what);
  // Every rank's `rows` ([n_r, ...], n_r >= 1, the same trailing shape, dtype and device everywhere)
  // joined in rank order: [sum n_r, ...] on every rank. `counts`, when given, gets each rank's n_r.
  torch::Tensor all_gather_rows(const torch::Tensor& rows, const std::string& what,
                                std::vector<int64_t>* counts = nullptr);
  // Every defined .grad() of `params` becomes the mean over ranks (DDP's gradient averaging).
  void average_gradients(const std::vector<torch::Tensor>& params, const std::string& what);
  // Throws (naming `what`) unless weights_checksum(params) is the same on every rank.
  void check_same_weights(const std::vector<torch::Tensor>& params, const std::string& what);
  void barrier(const std::string& what);

  // Seconds spent in collectives so far (for the benchmark's all-reduce share of a step).
  double collective_seconds() const;
  int64_t bucket_bytes = 25 << 20;  // DDP's default bucket size

 private:
  struct Impl;
  explicit Distributed(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An exact fingerprint of tensors' bits (their order, shapes and values): equal weights give equal
// checksums; a single changed bit changes it.
int64_t weights_checksum(const std::vector<torch::Tensor>& tensors);

// This rank's share of a data order, as DataParallel splits the reference's batches: the order goes
// in iterations of `iteration_rows` (whole chunks of `chunk_rows`, the global batch_size); rank r
// takes rows [r*b, (r+1)*b) of every chunk (b = chunk_rows / world). A last, short iteration is
// dropped (its chunks would not split evenly).
torch::Tensor rank_share_of_order(const torch::Tensor& order, int64_t iteration_rows, int64_t chunk_rows, int rank,
                                  int world);

}  // namespace biggan
