// What gan-train calls every test_every iterations to score the generator. Returns a JSON object
// with at least the reference's test-log keys IS_mean, IS_std and FID (NaN where not computed),
// plus whatever else the evaluator measures (e.g. the classifier yardstick's conditional accuracy).
#pragma once
#include <memory>
#include <string>

#include "libbiggan/models/model.h"
#include "libbiggan/util/json.h"

namespace biggan::metrics {
struct MetricSelection;  // metrics/metric_registry.h
}

namespace biggan {

class Distributed;  // training/distributed.h

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // `G` is in the mode the caller chose (eval with G_eval_mode). Must not touch torch's global
  // generator (training noise must not depend on whether or how often tests run). With `ranks`
  // (several processes), every rank calls it: each makes and runs its share of the samples, rank 0
  // gets the record of them all, the others null.
  virtual Json evaluate(GeneratorImpl& G, int64_t itr, Distributed* ranks = nullptr) = 0;
  // A short label for logs ("classifier", "inception", ...).
  virtual std::string name() const = 0;
};

// The embedded default's yardstick: a Fashion-MNIST classifier (libbiggan/metrics/fashion_classifier.h)
// gives classifier-FID (reported as FID), an Inception-Score-style score (IS_mean, IS_std) and the
// conditional accuracy of samples, against the real test split. With `train_images_h5`, as many
// real training images are scored once the same way (the floor: what a perfect generator would
// score), and every test record carries it as floor_FID, floor_IS_mean, floor_conditional_accuracy.
//
// Both evaluators take `chosen` (gan-train --metrics; null: the records described here, unchanged):
// each test then computes exactly the chosen metrics and records their keys (metric_registry.h), with
// IS_mean, IS_std and FID NaN where not chosen, and floor_<key> for each chosen metric's main numbers.
// The metrics that need features (kid, pr, dc) need them on the reference side too: the real images,
// or a moments file made with --save-features (else a biggan::Error). The selection is copied.
std::unique_ptr<Evaluator> make_classifier_evaluator(const std::string& classifier_path,
                                                     const std::string& real_images_h5, int64_t num_samples,
                                                     uint64_t seed, const std::string& train_images_h5 = "",
                                                     const metrics::MetricSelection* chosen = nullptr);

// The reference's test: IS (10 splits) and FID of `num_samples` samples of G (drawn as utils.sample
// does, G_batch_size at a time) against the data set's Inception moments (.npz), with a feature
// network of libbiggan/metrics (torchvision Inception as the reference, or pytorch-fid's).
std::unique_ptr<Evaluator> make_inception_evaluator(const std::string& network, const std::string& weights,
                                                    const std::string& moments_npz, int64_t num_samples,
                                                    int64_t batch_size, double z_var,
                                                    const metrics::MetricSelection* chosen = nullptr);

}  // namespace biggan
