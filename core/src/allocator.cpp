#include "switchboard/core/allocator.hpp"

#if SWITCHBOARD_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

namespace switchboard::core::allocator {

#if SWITCHBOARD_WITH_JEMALLOC
std::string name() {
  const char* version = nullptr;
  std::size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) != 0 || version == nullptr) return "jemalloc";
  return std::string("jemalloc ") + version;
}

void release_free_memory() {
  // The calling thread's cache first (where the blocks it just freed wait), then every arena's free pages.
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  static const std::string purge_all = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purge_all.c_str(), nullptr, nullptr, nullptr, 0);
}
#else
std::string name() { return "glibc malloc"; }

void release_free_memory() { ::malloc_trim(0); }
#endif

}  // namespace switchboard::core::allocator
