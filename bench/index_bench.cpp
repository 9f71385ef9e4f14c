// The customer index at the size of a large call centre: 1,000,000 customers with 3 numbers each.
// Figures (see bench/RESULTS.md): resident memory of the index <= 100 MB; lookup of a caller <= 1 us median.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <fstream>
#include <random>

#include "switchboard/core/customer_index.hpp"

namespace sdk = switchboard::sdk;
using switchboard::core::CustomerIndex;
using switchboard::core::IndexedRule;

namespace {

constexpr std::size_t customers = 1'000'000;

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

// Czech numbers: mobiles (6xx, 7xx) and landlines (2xx..5xx), 9 digits after +420.
std::string random_number(std::mt19937_64& random) {
  static const int prefixes[] = {601, 602, 603, 604, 605, 606, 607, 608, 702, 720, 721, 722, 724, 725, 730, 731,
                                 732, 733, 734, 736, 737, 739, 770, 773, 774, 775, 776, 777, 790, 222, 224, 235,
                                 296, 311, 321, 326, 353, 377, 386, 416, 466, 483, 495, 515, 532, 543, 553, 581};
  return "+420" + std::to_string(prefixes[random() % std::size(prefixes)]) + std::to_string(100000 + random() % 900000);
}

struct Data {
  CustomerIndex index;
  std::vector<std::string> callers;  // known callers, unknown callers, withheld
  std::size_t memory = 0;
  double build_seconds = 0;
};

Data& data() {
  static Data d = [] {
    Data d;
    std::mt19937_64 random(2006);
    std::vector<std::vector<std::string>> operator_lists;
    for (int i = 0; i < 300; ++i) {
      std::vector<std::string> ops;
      for (int k = 0, n = 1 + static_cast<int>(random() % 4); k < n; ++k) ops.push_back(std::to_string(100 + random() % 200));
      operator_lists.push_back(ops);
    }
    std::vector<sdk::RuleKeys> rules(customers);
    for (std::size_t i = 0; i < customers; ++i) {
      auto& r = rules[i];
      r.id = static_cast<std::int64_t>(i + 1);
      r.project = std::to_string(100 + random() % 20);
      r.callers_normalised = {random_number(random), random_number(random), random_number(random)};
      r.operators = operator_lists[random() % operator_lists.size()];
    }
    std::size_t before = resident_bytes();
    auto start = std::chrono::steady_clock::now();
    d.index.reserve(customers);
    for (const auto& r : rules) d.index.upsert(r);
    d.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    d.memory = resident_bytes() - before;
    // 75% known callers, 20% unknown, 5% withheld: the mix of the in-process routing figure.
    for (int i = 0; i < 100'000; ++i) {
      auto roll = random() % 100;
      if (roll < 5) d.callers.emplace_back();
      else if (roll < 25) d.callers.push_back(random_number(random));
      else d.callers.push_back(rules[random() % customers].callers_normalised[random() % 3]);
    }
    return d;
  }();
  return d;
}

void IndexMemoryAndBuild(benchmark::State& state) {
  auto& d = data();
  for (auto _ : state) benchmark::DoNotOptimize(d.index.size());
  state.counters["customers"] = static_cast<double>(d.index.size());
  state.counters["resident_MB"] = static_cast<double>(d.memory) / 1e6;
  state.counters["index_MB"] = static_cast<double>(d.index.memory_bytes()) / 1e6;
  state.counters["build_s"] = d.build_seconds;
}
BENCHMARK(IndexMemoryAndBuild)->Iterations(1);

void IndexLookup(benchmark::State& state) {
  auto& d = data();
  std::vector<IndexedRule> found;
  std::size_t i = 0;
  for (auto _ : state) {
    found.clear();
    d.index.find(d.callers[i++ % d.callers.size()], found);
    benchmark::DoNotOptimize(found.data());
  }
}
BENCHMARK(IndexLookup)->Repetitions(9)->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
