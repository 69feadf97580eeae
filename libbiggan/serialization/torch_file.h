// Reading and writing files of Python's torch.save without Python and without executing pickles.
//
// Python -> C++ value mapping (see pickle.h): dict / OrderedDict -> c10 GenericDict (file order kept),
// list -> GenericList, tuple -> Tuple, str / bytes -> string, int -> int64, float -> double, bool,
// None, numpy scalars -> double / int64 / bool, numpy arrays (f4 f8 f2 i1 i2 i4 i8 u1 b1) -> CPU
// tensors of their dtype, tensors -> CPU tensors (storage sharing, offsets and
// strides as in the file; requires_grad is not restored).
#pragma once
#include <torch/torch.h>

#include <string>

namespace biggan::torchfile {

// Loads any file written by Python's torch.save (zip format >= 1.6, or the legacy pre-1.6 format,
// which the released BigGAN-PyTorch checkpoints use). Restricted: no code execution; a bad or hostile
// file is a biggan::Error naming the file and the problem.
c10::IValue load(const std::string& path);

// Loads a file whose top level is a (Ordered)Dict[str, Tensor] and returns it in file order.
using StateDict = torch::OrderedDict<std::string, torch::Tensor>;
StateDict load_state_dict(const std::string& path);

// Writes `value` in torch's zip format so Python's torch.load reads it. Atomic (temp file, fsync,
// rename). Dicts whose values are all tensors (and non-empty) are written as collections.OrderedDict
// (so torch's load_state_dict is happy); other dicts as dict. Supports tensors of dtype float32/64,
// float16, bfloat16, int8/16/32/64, uint8, bool (any device: copied to the CPU; views of one storage
// stay views of one storage), dict (str or int keys), list, tuple, str (UTF-8), int, double, bool, None.
void save(const std::string& path, const c10::IValue& value);
void save_state_dict(const std::string& path, const StateDict& sd);

// A StateDict -> IValue dict (str -> Tensor) and back, for nesting state dicts in larger structures.
// to_state_dict throws (naming `what`) if the value is not a dict of str -> Tensor.
c10::IValue to_ivalue(const StateDict& sd);
StateDict to_state_dict(const c10::IValue& value, const std::string& what = "value");

}  // namespace biggan::torchfile
