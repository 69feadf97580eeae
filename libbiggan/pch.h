// Precompiled for every target: LibTorch's umbrella header dominates compile time.
#pragma once
#include <torch/torch.h>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>
