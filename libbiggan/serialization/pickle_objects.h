// The objects the unpickler's allow-listed callables build, from arguments it has already decoded:
// tensors over storages (torch._utils._rebuild_tensor_v2), numpy scalars, protocol 2's latin-1
// bytes. Every check of a hostile argument is here; errors are biggan::Error naming `source`.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace biggan::pickle {

// A view of `storage` (a 1-D tensor over a whole storage) with the given offset, sizes and strides,
// refused when any element would lie outside the storage.
torch::Tensor rebuild_tensor(const torch::Tensor& storage, int64_t offset, const std::vector<int64_t>& size,
                             const std::vector<int64_t>& stride, const std::string& source);

// numpy.core.multiarray.scalar(dtype, data): dtype codes f4 f8 i1..i8 u1..u8 b1, `byteorder` '<',
// '>', '=' or '|'. Floats become double, integers int64, b1 bool.
c10::IValue numpy_scalar(const std::string& dtype, char byteorder, const std::string& data, const std::string& source);

// _codecs.encode(text, 'latin1'): the UTF-8 text protocol 2 uses for bytes, back to those bytes.
std::string utf8_to_latin1(const std::string& text, const std::string& source);

// A little-endian two's-complement integer's bytes as "0x..." (most significant first).
std::string little_endian_hex(const std::string& bytes);

}  // namespace biggan::pickle
