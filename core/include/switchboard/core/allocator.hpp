// The host's memory allocator. The host links jemalloc by default (CMake option SWITCHBOARD_JEMALLOC): under a
// backlog of calls glibc's malloc spent ever more of its time consolidating and sorting free chunks, so a
// short slow spell turned into a collapse; see docs/architecture.md "Memory allocator".
#pragma once

#include <string>

namespace switchboard::core::allocator {

// "jemalloc 5.3.0-0-g54eaed1…" or "glibc malloc": for --version and the start-up log line.
std::string name();

// Gives the pages of freed memory back to the system now (jemalloc: purges every arena; glibc: malloc_trim),
// instead of when the allocator would decide to. For after a large one-off allocation, such as the rule keys
// read at start.
void release_free_memory();

}  // namespace switchboard::core::allocator
