// Loader throughput: batches/s of MultiEpochSampler + BatchLoader over a training file, read from
// disk and from memory (--load_in_mem), with and without augment.
// Usage: bench_data FILE.hdf5 [BATCH=256] [BATCHES=40] [THREADS=2]
#include <chrono>
#include <cstdio>
#include <string>

#include "libbiggan/data/batch_loader.h"
#include "libbiggan/data/sampler.h"
#include "libbiggan/util/cli.h"

using namespace biggan;
using namespace biggan::data;

int main(int argc, char** argv) {
  return run_tool("bench_data", [&] {
    if (argc < 2) {
      std::fprintf(stderr, "usage: bench_data FILE.hdf5 [BATCH=256] [BATCHES=40] [THREADS=2]\n");
      return kExitUsage;
    }
    const std::string path = argv[1];
    const int64_t batch = argc > 2 ? std::stoll(argv[2]) : 256;
    const int64_t batches = argc > 3 ? std::stoll(argv[3]) : 40;
    const int threads = argc > 4 ? std::stoi(argv[4]) : 2;
    torch::set_num_threads(1);
    for (bool in_mem : {false, true}) {
      auto data = std::make_shared<const HDF5Dataset>(path, in_mem);
      for (bool augment : {false, true}) {
        torch::manual_seed(0);
        // Enough epochs for `batches` batches, as the training loop would draw them.
        const int64_t epochs = (batches * batch + data->size() - 1) / data->size();
        auto order = MultiEpochSampler(data->size(), epochs, 0, batch).draw().slice(0, 0, batches * batch);
        LoaderOptions lo;
        lo.batch_size = batch;
        lo.threads = threads;
        lo.augment = augment;
        auto t0 = std::chrono::steady_clock::now();
        BatchLoader loader(data, order, lo);
        int64_t n = 0;
        double checksum = 0;
        while (auto b = loader.next()) {
          checksum += b->x[0][0][0][0].item<float>();
          ++n;
        }
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("{\"file\": \"%s\", \"load_in_mem\": %s, \"augment\": %s, \"batch\": %lld, \"res\": %lld, "
                    "\"threads\": %d, \"batches\": %lld, \"seconds\": %.3f, \"batches_per_s\": %.2f, "
                    "\"images_per_s\": %.0f}\n",
                    path.c_str(), in_mem ? "true" : "false", augment ? "true" : "false", (long long)batch,
                    (long long)data->height(), threads, (long long)n, s, n / s, n * batch / s);
        (void)checksum;
      }
    }
    return kExitOk;
  });
}
