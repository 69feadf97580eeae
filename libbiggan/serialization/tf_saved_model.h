// The nodes of a TF1 SavedModel's graph (saved_model.pb: SavedModel -> MetaGraphDef -> GraphDef ->
// NodeDef), read with the protobuf wire reader: each node's name, op and inputs, and for Const
// nodes the float32 value (TensorProto tensor_content or float_val). Enough to find constants by
// how the graph wires them (the BigGAN-deep modules keep their BN tables as Pack nodes of Const
// nodes); nothing is executed.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace biggan {

struct TfGraphNode {
  std::string name, op;
  std::vector<std::string> inputs;  // as written: "node", "node:1", "^control"
  torch::Tensor value;              // Const of dtype float32 only (undefined otherwise)
};

struct TfGraph {
  std::string source;  // saved_model.pb, for messages
  std::map<std::string, TfGraphNode> nodes;
};

// Every MetaGraphDef's graph in the file, in order (a Hub module has one per tag set). A file
// without a graph (the fixtures' 4-byte stub) gives graphs without nodes. Malformed protobuf is a
// one-line biggan::Error naming the file.
std::vector<TfGraph> read_saved_model_graphs(const std::filesystem::path& saved_model_pb);

// The float value of `input` ("name" or "name:0"), through Identity nodes, when it is a Const;
// throws an error naming the graph file and the node otherwise.
torch::Tensor tf_graph_constant(const TfGraph& graph, const std::string& input);

}  // namespace biggan
