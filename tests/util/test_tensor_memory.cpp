// util/tensor_memory.h: freed tensor memory stays in the heap instead of going back to the kernel.
#include <catch2/catch.hpp>
#include <torch/torch.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "libbiggan/util/error.h"
#include "libbiggan/util/tensor_memory.h"
#include "tests/fixtures.h"

using namespace biggan;

TEST_CASE("BIGGAN_MALLOC: heap (the default) or system, anything else refused") {
  CHECK_FALSE(keep_tensor_memory_mapped("system"));
  CHECK_THROWS_WITH(keep_tensor_memory_mapped("mmap"), Catch::Contains("BIGGAN_MALLOC") && Catch::Contains("'mmap'"));
}

TEST_CASE("a large tensor comes from the heap, and its memory stays there once freed") {
#if defined(__GLIBC__)
  const int64_t floats = 16 << 20;  // 64 MB: above glibc's largest mmap threshold
  // glibc's own default (M_MMAP_MAX 65536): such a block is mmapped, as the test's premise.
  REQUIRE(mallopt(M_MMAP_MAX, 65536) == 1);
  {
    const auto before = mallinfo2().hblks;
    auto t = torch::empty({floats});
    CHECK(mallinfo2().hblks == before + 1);
  }
  REQUIRE(keep_tensor_memory_mapped(""));
  const auto before = mallinfo2();
  size_t heap_with_tensor = 0;
  {
    auto t = torch::empty({floats});
    t.fill_(1);
    CHECK(mallinfo2().hblks == before.hblks);  // not mmapped: from the heap
    heap_with_tensor = mallinfo2().arena;
  }
  // Freed, not trimmed: the heap keeps the block's pages for the next tensor. (Whether the heap grew
  // for it depends on what earlier tests left free in it, so only "did not shrink" is checked.)
  const auto after = mallinfo2();
  CHECK(after.arena == heap_with_tensor);
  CHECK(after.fordblks >= static_cast<size_t>(floats) * sizeof(float));
#else
  BIGGAN_SKIP("not glibc: the C library's own allocation policy is kept");
#endif
}
