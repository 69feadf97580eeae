// Where LibTorch's CPU tensors get their memory. LibTorch allocates every CPU tensor with malloc;
// glibc serves blocks above its mmap threshold (128 KB, rising to at most 32 MB as blocks are freed)
// with mmap, unmaps them on free, and trims the heap's free top above twice that threshold. A new
// tensor of that size then faults in every 4 KB page again, which on this kind of machine costs
// about as much as a memory copy at 0.4 GB/s: a [8, 4096, 1024] float tensor (the i128 attention
// map) takes 0.3 s to allocate and 0.007 s to compute into. Keeping freed memory in the heap (no
// mmap, no trimming), as CUDA's caching allocator keeps GPU memory, makes those pages reusable:
// the i128 training step runs 4.8x faster, its peak RSS 23 % higher (bench/bench_models.sh).
#pragma once
#include <string>

namespace biggan {

// Applies the policy above unless `setting` is "system" (glibc's defaults kept). `setting` is
// BIGGAN_MALLOC's value ("" or "heap": the policy). Returns whether the policy is in force; throws
// biggan::Error for another value. A no-op returning false where the C library is not glibc.
bool keep_tensor_memory_mapped(const std::string& setting);

// keep_tensor_memory_mapped(getenv("BIGGAN_MALLOC")), once per process (every tool's run_tool).
bool keep_tensor_memory_mapped_from_env();

}  // namespace biggan
