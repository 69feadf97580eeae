// BN statistics per truncation level for a BigGAN-deep module (truncation_stats.h), by the TF scope
// of each BN: read from a table file (tfhub-convert --bn-stats) or from Hugging Face's converted
// state dict (hf_biggan_deep.h). The real modules keep them as graph constants in saved_model.pb,
// which the fixtures' modules do not have (docs/tfhub.md).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace biggan {

struct TruncationTables {
  std::string source;  // the file they came from, for messages
  int64_t levels = 0;  // rows of every table (level l: truncation l / (levels - 1))
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> by_scope;  // scope -> (means, vars) [levels, C]
  bool empty() const { return by_scope.empty(); }
};

// Reads the tables of the BNs `scopes` (in Hugging Face's order) from `file`:
//  - our HDF5 layout: datasets "<scope>/means" and "<scope>/vars", float [levels, C];
//  - a torch file holding a list of 2 x scopes.size() float tensors [levels, C], means then vars of
//    each BN in that order (Hugging Face's --batch_norm_stats_path list, saved as tensors).
// Every table must have the same number of levels (at least 2). Errors are one line naming the
// file and the table.
TruncationTables read_truncation_tables(const std::filesystem::path& file, const std::vector<std::string>& scopes);

// The tables a module keeps in its graph (saved_model.pb): Hugging Face's extract_batch_norm_stats
// reads, after hub.Module applies the graph, the Pack nodes module_apply_default/stack_N for
// N = 1, 3, 6, 8, 11, 13, 16, 18, ... (five Packs per BN, the means at +1, the vars at +3: the k-th
// table is stack_(10 (k / 4) + {1, 3, 6, 8}[k % 4])), and runs them without initialising a single
// variable, so each is a Pack of constants. In the saved graph they carry no module_apply_default/
// prefix: we take the Pack node stack_N of the first graph that has stack_1, and each of its inputs
// as a Const (through Identity nodes). Not checked on a real module (docs/tfhub.md). Empty tables
// when no graph has stack_1 (the fixtures' saved_model.pb is a 4-byte stub); anything else amiss is
// an error naming the file and the node.
TruncationTables read_saved_model_tables(const std::filesystem::path& saved_model_pb, const std::vector<std::string>& scopes);

}  // namespace biggan
