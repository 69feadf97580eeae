#include "libbiggan/data/batch_loader.h"

#include <cstring>

#include "libbiggan/util/error.h"

namespace biggan::data {
namespace {

constexpr int kPad = 4;  // torchvision RandomCrop(size, padding=4)

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<float> reference_normalize_table() {
  // datasets.ILSVRC_HDF5: ((torch.from_numpy(img).float() / 255) - 0.5) * 2
  auto v = ((torch::arange(256, torch::kUInt8).to(torch::kFloat32) / 255) - 0.5) * 2;
  return std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + 256);
}

BatchLoader::BatchLoader(std::shared_ptr<const HDF5Dataset> data, torch::Tensor order, LoaderOptions options)
    : data_(std::move(data)), opt_(options) {
  if (!data_) throw Error("BatchLoader: no data set");
  if (opt_.batch_size <= 0) throw Error("BatchLoader: batch size must be positive");
  opt_.threads = std::max(1, opt_.threads);
  opt_.prefetch = std::max(1, opt_.prefetch);
  auto o = order.to(torch::kInt64).contiguous().view(-1);
  order_.assign(o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel());
  for (int64_t i : order_)
    if (i < 0 || i >= data_->size())
      throw input_error(data_->path(), "sampler index " + std::to_string(i) + " out of range for " +
                                           std::to_string(data_->size()) + " images");
  const int64_t m = static_cast<int64_t>(order_.size());
  num_batches_ = opt_.drop_last ? m / opt_.batch_size : (m + opt_.batch_size - 1) / opt_.batch_size;
  pinned_ = opt_.pin_memory && torch::cuda::is_available();
  auto table = reference_normalize_table();
  std::copy(table.begin(), table.end(), lut_);
  try {
    for (int t = 0; t < opt_.threads; ++t) {
      std::function<void()> body = [this] { worker(); };
      threads_.push_back(opt_.start_thread ? opt_.start_thread(std::move(body)) : std::thread(std::move(body)));
    }
  } catch (...) {
    // The destructor does not run for a constructor that throws: stop and join the threads already
    // started here, or their std::thread destructors would call std::terminate.
    stop_workers();
    throw;
  }
}

void BatchLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

BatchLoader::~BatchLoader() { stop_workers(); }

void BatchLoader::worker() {
  for (;;) {
    int64_t k;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_cv_.wait(lock, [&] {
        return stop_ || next_to_assign_ >= num_batches_ || next_to_assign_ < next_to_return_ + opt_.prefetch;
      });
      if (stop_ || next_to_assign_ >= num_batches_) return;
      k = next_to_assign_++;
    }
    Batch b;
    std::exception_ptr err;
    try {
      b = make_batch(k);
    } catch (...) {
      err = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (err) failed_[k] = err;
      else ready_[k] = std::move(b);
    }
    ready_cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_return_ >= num_batches_) return std::nullopt;
  const int64_t k = next_to_return_;
  ready_cv_.wait(lock, [&] { return ready_.count(k) || failed_.count(k); });
  if (auto f = failed_.find(k); f != failed_.end()) {
    auto err = f->second;
    failed_.erase(f);
    ++next_to_return_;
    lock.unlock();
    work_cv_.notify_all();
    std::rethrow_exception(err);
  }
  Batch b = std::move(ready_[k]);
  ready_.erase(k);
  ++next_to_return_;
  lock.unlock();
  work_cv_.notify_all();
  return b;
}

Batch BatchLoader::make_batch(int64_t k) const {
  const int64_t begin = k * opt_.batch_size;
  const int64_t count = std::min<int64_t>(opt_.batch_size, static_cast<int64_t>(order_.size()) - begin);
  std::vector<int64_t> idx(order_.begin() + begin, order_.begin() + begin + count);
  const int64_t H = data_->height(), W = data_->width(), plane = H * W, row = 3 * plane;
  std::vector<uint8_t> raw(static_cast<size_t>(count * row));
  data_->read_into(idx, raw.data());

  auto fopts = torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pinned_);
  Batch b{torch::empty({count, 3, H, W}, fopts),
          torch::empty({count}, torch::TensorOptions().dtype(torch::kInt64).pinned_memory(pinned_))};
  float* x = b.x.data_ptr<float>();
  const int64_t* labels = data_->labels().data_ptr<int64_t>();
  int64_t* y = b.y.data_ptr<int64_t>();
  for (int64_t j = 0; j < count; ++j) y[j] = labels[idx[j]];

  if (!opt_.augment) {
    const size_t total = raw.size();
    for (size_t i = 0; i < total; ++i) x[i] = lut_[raw[i]];
    return b;
  }
  for (int64_t j = 0; j < count; ++j) {
    const uint64_t r = splitmix64(opt_.augment_seed ^ splitmix64(static_cast<uint64_t>(opt_.position_offset + begin + j)));
    const int64_t dy = static_cast<int64_t>(r % (2 * kPad + 1)) - kPad;
    const int64_t dx = static_cast<int64_t>((r >> 16) % (2 * kPad + 1)) - kPad;
    const bool flip = (r >> 40) & 1;
    const uint8_t* src = raw.data() + j * row;
    float* dst = x + j * row;
    // out[y][x] = crop[y][flip ? W-1-x : x], crop[y][x'] = padded[y+dy+4][x'+dx+4] = img[y+dy][x'+dx].
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t yy = 0; yy < H; ++yy) {
        const int64_t sy = yy + dy;
        float* out = dst + c * plane + yy * W;
        if (sy < 0 || sy >= H) {
          std::fill(out, out + W, lut_[0]);
          continue;
        }
        const uint8_t* in = src + c * plane + sy * W;
        for (int64_t xx = 0; xx < W; ++xx) {
          const int64_t sx = (flip ? W - 1 - xx : xx) + dx;
          out[xx] = (sx < 0 || sx >= W) ? lut_[0] : lut_[in[sx]];
        }
      }
    }
  }
  return b;
}

}  // namespace biggan::data
