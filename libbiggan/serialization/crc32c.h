// CRC32C (Castagnoli), as LevelDB tables and TensorFlow tensor bundles store it: reflected
// polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF; crc32c("123456789") = 0xE3069283.
// Stored checksums are "masked" (LevelDB's crc32c::Mask), so that a CRC of data that itself holds
// CRCs is not degenerate.
#pragma once
#include <cstddef>
#include <cstdint>

namespace biggan::crc32c {

// The CRC of `size` bytes, continuing from `crc` (the value returned for the preceding bytes; 0 to
// start), so a long buffer can be checked in pieces.
uint32_t extend(uint32_t crc, const void* data, size_t size);
inline uint32_t value(const void* data, size_t size) { return extend(0, data, size); }

// LevelDB's Mask / Unmask: rotate right by 15 bits and add a constant (mod 2^32), and back.
uint32_t mask(uint32_t crc);
uint32_t unmask(uint32_t masked);

}  // namespace biggan::crc32c
