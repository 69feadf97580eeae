// IDX files (the MNIST / Fashion-MNIST format): a big-endian header (two zero bytes, an element type
// byte, a rank byte, then one 32-bit size per dimension) followed by the elements. Read gzipped or
// plain (zlib reads both).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace biggan::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // unsigned-byte elements, row-major
};

// Reads an IDX file of unsigned bytes (type 0x08). Clear errors for a bad magic, another element
// type, or a file shorter than its header says.
IdxArray read_idx_ubyte(const std::filesystem::path& file);

// The image and label files of a split in an MNIST-style folder: "<prefix>-images-idx3-ubyte[.gz]"
// and "<prefix>-labels-idx1-ubyte[.gz]" with prefix "train" or "t10k" (split "train" or "test").
struct IdxSplitFiles {
  std::filesystem::path images, labels;
};
IdxSplitFiles find_idx_split(const std::filesystem::path& folder, const std::string& split);

// Class names for an IDX data set: Fashion-MNIST's ten names when the folder name says fashion,
// otherwise "0".."num_classes-1".
std::vector<std::string> idx_class_names(const std::filesystem::path& folder, int64_t num_classes);

}  // namespace biggan::data
