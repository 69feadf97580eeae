// How many threads the BLAS may use. LibTorch's CPU matmuls in float32 (linear layers, spectral
// norm's power iteration, attention's bmm) go to the system BLAS: on Debian, OpenBLAS
// (libopenblas0-pthread), which runs its own pool of pthreads beside LibTorch's OpenMP pool, one per
// core by default. After each call OpenBLAS's workers spin for about 2^28 cycles (0.1 s) before they
// sleep, so on a machine with as many cores as LibTorch has threads they take cores from the
// OpenMP threads of the convolutions that follow, and an OpenMP region waits for its slowest thread:
// measured on the 2-core machine, a 6 ms G forward at c32s had one 8x512x128 addmm of 3-7 ms, and
// over five alternating pairs the c32s training step's median was 161-246 ms with OpenBLAS's default
// of 2 threads against 125-154 ms with 1 (README, "Benchmarks"). The matmuls of these models are
// small, so one BLAS thread costs little where it is not contended (the i128 step: 2.12-2.24 s
// against 2.18-2.48 s; c32 and bf16 steps within their noise). OpenBLAS
// reads its thread count from the environment when it is loaded, before main, so the policy calls
// openblas_set_num_threads, found at run time: any other BLAS is left as it is.
#pragma once
#include <string>

namespace biggan {

// Sets OpenBLAS's thread count from `setting`, BIGGAN_BLAS_THREADS's value: "" for 1 (the policy
// above), a whole number from 1 to 9999 for that many, "system" to keep what OpenBLAS chose (its own
// OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or the core count). Returns the count set, or 0 when nothing
// was set ("system", or the BLAS is not OpenBLAS). Throws biggan::Error for another value.
int set_blas_threads(const std::string& setting);

// set_blas_threads(getenv("BIGGAN_BLAS_THREADS")), once per process (every tool's run_tool and
// every test binary's main).
int set_blas_threads_from_env();

// OpenBLAS's thread count now, or 0 when the BLAS is not OpenBLAS.
int blas_threads();

}  // namespace biggan
