#include "switchboard/core/allocator.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <vector>

#if SWITCHBOARD_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace {

namespace allocator = switchboard::core::allocator;

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

#if SWITCHBOARD_WITH_JEMALLOC
TEST(Allocator, MallocIsJemallocsInABuildWithIt) {
  EXPECT_EQ(allocator::name().rfind("jemalloc 5.", 0), 0u) << allocator::name();
  // Plain malloc must land in jemalloc (the symbol interposed for every library, plugins included): its
  // per-thread counter of allocated bytes grows by the block.
  std::uint64_t* allocated = nullptr;
  std::size_t size = sizeof(allocated);
  ASSERT_EQ(mallctl("thread.allocatedp", &allocated, &size, nullptr, 0), 0);
  auto before = *allocated;
  void* block = std::malloc(1 << 20);
  ASSERT_NE(block, nullptr);
  EXPECT_GE(*allocated - before, std::uint64_t{1} << 20);
  std::free(block);
}
#else
TEST(Allocator, NameIsTheCLibrarysInABuildWithoutJemalloc) { EXPECT_EQ(allocator::name(), "glibc malloc"); }
#endif

TEST(Allocator, ReleaseFreeMemoryGivesTheFreedPagesBackToTheSystem) {
  // Small blocks, as the customer index's rule keys are: neither allocator returns their pages on free.
  constexpr std::size_t blocks = 256 * 1024, block_size = 400;
  auto start = resident_bytes();
  {
    std::vector<std::unique_ptr<char[]>> held;
    held.reserve(blocks);
    for (std::size_t i = 0; i < blocks; ++i) {
      held.emplace_back(new char[block_size]);
      held.back()[0] = static_cast<char>(i);  // touch the page
    }
    ASSERT_GT(resident_bytes() - start, 80L << 20);
  }
  auto freed = resident_bytes();
  allocator::release_free_memory();
  auto released = resident_bytes();
  // jemalloc keeps freed pages for about 10 s before it gives them back by itself: without the release the
  // growth would still be resident here.
  EXPECT_LT(released - start, 16L << 20) << "resident at start " << start << ", after the frees " << freed
                                        << ", after the release " << released;
}

}  // namespace
