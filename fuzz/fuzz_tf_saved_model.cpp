// A TF1 SavedModel's saved_model.pb (tfhub-convert reads BigGAN-deep's BN tables from its graph
// constants): read_saved_model_graphs on the bytes as a file, then tf_graph_constant on every node
// and every node input (Identity chains, Const tensors of any declared shape).
#include "fuzz/fuzz_util.h"
#include "libbiggan/serialization/tf_saved_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = biggan::fuzz::input_file(data, size, ".pb");
  biggan::fuzz::expect_clean([&] {
    for (const auto& graph : biggan::read_saved_model_graphs(path)) {
      for (const auto& [name, node] : graph.nodes) {
        std::vector<std::string> wanted{name};
        wanted.insert(wanted.end(), node.inputs.begin(), node.inputs.end());
        for (const auto& w : wanted) {
          try {
            biggan::tf_graph_constant(graph, w);
          } catch (const biggan::Error&) {  // not a constant: fine, go on
          }
        }
      }
    }
  });
  return 0;
}
