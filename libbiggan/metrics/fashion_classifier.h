// The embedded default's yardstick. Inception weights cannot be had everywhere, so Fashion-MNIST runs
// are scored with a small CNN trained here on the Fashion-MNIST training split (>= 90 % test accuracy):
// its penultimate features give a Fréchet distance ("classifier-FID") against the real test split,
// its softmax an Inception-Score-style score, and its predictions the accuracy of class-conditional
// samples (does a sample of class k look like class k).
//
// Inputs are N×3×S×S images in [-1, 1] (gray repeated to RGB, as the data tool writes Fashion-MNIST),
// or uint8 0..255 which is mapped to x / 127.5 - 1 (the reference's ToTensor + Normalize(0.5, 0.5)).
#pragma once
#include <torch/torch.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "libbiggan/metrics/feature_moments.h"
#include "libbiggan/metrics/frechet_distance.h"
#include "libbiggan/metrics/inception_score.h"
#include "libbiggan/util/json.h"

namespace biggan::metrics {

// The architecture, stored in the weights file so that a mismatched file is a clear error.
// Three stages of conv3×3 (no bias) + BatchNorm + ReLU + 2×2 max-pool, then
// Linear(c3·(S/8)², feature_dim) (the features, taken before the ReLU), ReLU, dropout in training,
// Linear(feature_dim, classes).
struct ClassifierArch {
  int64_t image_size = 32;                 // S, divisible by 8
  // 24,48,96: 91-92 % on Fashion-MNIST in 4 epochs at about 45 s of one core per epoch.
  std::array<int64_t, 3> channels{24, 48, 96};
  int64_t feature_dim = 128;
  int64_t num_classes = 10;
  double dropout = 0.3;                    // training only; not part of the file's identity
  bool operator==(const ClassifierArch& o) const;
  std::string describe() const;            // "S=32 channels=24,48,96 features=128 classes=10"
};

class FashionClassifierImpl : public torch::nn::Module {
 public:
  explicit FashionClassifierImpl(ClassifierArch arch = {});
  // x: N×3×S×S in [-1, 1] (or uint8). [N, feature_dim] penultimate activations (pre-ReLU).
  torch::Tensor features(const torch::Tensor& x);
  torch::Tensor logits_from_features(const torch::Tensor& features);
  // [N, num_classes] logits.
  torch::Tensor logits(const torch::Tensor& x);
  torch::Tensor forward(const torch::Tensor& x) { return logits(x); }
  const ClassifierArch& arch() const { return arch_; }

 private:
  ClassifierArch arch_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Linear fc_{nullptr}, out_{nullptr};
};
TORCH_MODULE(FashionClassifier);

// uint8 0..255 -> float x / 127.5 - 1; floating input is returned as float32 unchanged.
// Checks the N×3×S×S shape (1 channel is repeated to 3), naming `what` in errors.
torch::Tensor classifier_input(const torch::Tensor& images, const std::string& what = "images");

struct ClassifierTrainOptions {
  int64_t epochs = 4;
  int64_t batch_size = 128;
  double max_lr = 3e-3;        // one-cycle schedule (Adam): warm-up 30 %, cosine decay
  double weight_decay = 0;
  bool flip = true;            // random horizontal flips (Fashion-MNIST is nearly mirror-symmetric)
  uint64_t seed = 0;
  ClassifierArch arch;
  // Called after every epoch with (epoch (1-based), mean training loss, seconds so far).
  std::function<void(int64_t, double, double)> on_epoch;
  // Called every `progress_every` steps with (step, total steps, loss); 0 = never.
  int64_t progress_every = 0;
  std::function<void(int64_t, int64_t, double)> on_step;
};

// Trains from scratch on uint8 (or [-1, 1] float) N×3×S×S images with int64 labels in [0, classes).
// Deterministic for a given seed and thread count (the result may differ in the last bits between
// thread counts, as LibTorch's reductions do). Returns the model in eval mode.
FashionClassifier train_classifier(const torch::Tensor& images, const torch::Tensor& labels,
                                   const ClassifierTrainOptions& options = {});

// Batched inference in eval mode without gradients.
struct ClassifierOutputs {
  torch::Tensor features;  // [N, F] float32
  torch::Tensor probs;     // [N, classes] float64 softmax
  torch::Tensor predicted; // [N] int64
};
ClassifierOutputs classify(FashionClassifier& model, const torch::Tensor& images, int64_t batch_size = 500);

// Fraction of images whose predicted class equals the label.
double classifier_accuracy(FashionClassifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                           int64_t batch_size = 500);

// Weights file: a torch state dict (biggan::torchfile, loadable by Python's torch.load) with the
// architecture as int64 entries "arch.image_size", "arch.channels", "arch.feature_dim",
// "arch.num_classes" and "arch.format_version". A file without them, or whose tensors do not fit the
// architecture it names, is a biggan::Error naming the file.
void save_classifier(const std::string& path, FashionClassifier& model);
FashionClassifier load_classifier(const std::string& path);

// What a set of (generated) images scores against the real data.
struct ClassifierScores {
  int64_t count = 0;
  double fid = 0;                   // classifier-FID against the real moments (float64, exact)
  FrechetResult fid_detail;
  InceptionScore is;                // from the classifier's softmax, `splits` splits as the reference's IS
  bool has_labels = false;
  double conditional_accuracy = 0;  // fraction of images of class k classified as k (needs labels)
  std::vector<double> per_class_accuracy;  // per class (NaN for a class with no images)
  std::vector<int64_t> per_class_count;
};

// Scores from already computed classifier outputs (exposed for tests and for streaming callers).
// labels: undefined, or [N] int64.
ClassifierScores scores_from_outputs(const ClassifierOutputs& outputs, const Moments& real,
                                     const torch::Tensor& labels, int is_splits = 10);

// The classifier plus the real data's feature moments: built once (e.g. on the test split), then
// scores any number of image sets.
class ClassifierScorer {
 public:
  ClassifierScorer(FashionClassifier model, const torch::Tensor& real_images, int64_t batch_size = 500);
  ClassifierScorer(FashionClassifier model, Moments real_moments, int64_t batch_size = 500);
  // images: N×3×S×S in [-1, 1] (float) or uint8; labels undefined or [N] int64. N >= is_splits.
  ClassifierScores score(const torch::Tensor& images, const torch::Tensor& labels = {}, int is_splits = 10);
  const Moments& real_moments() const { return real_; }
  FashionClassifier& model() { return model_; }

 private:
  FashionClassifier model_;
  Moments real_;
  int64_t batch_size_;
};

// A labelled image set from HDF5: images from `imgs` (uint8, the data tool's layout) or `images`
// (float in [-1, 1], gan-sample's), labels from `labels` or `y` (int64; undefined when absent and
// !require_labels). `limit` > 0 reads only the first `limit` rows.
struct LabeledImages {
  torch::Tensor images, labels;
};
LabeledImages read_labeled_images(const std::string& h5_path, bool require_labels, int64_t limit = 0);

// JSON text of the scores (one object).
Json scores_to_json(const ClassifierScores& s);

}  // namespace biggan::metrics
