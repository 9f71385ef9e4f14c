// The durable call log append of the `soci` storage on SQLite (WAL, synchronous FULL): batches of 100
// realistic records, one transaction each, as the call engine hands them over at 20,000-30,000 calls/s.
// Figures (see bench/RESULTS.md): CPU per row (user+system, and user alone: the system share is mostly
// writing the WAL and its fsync), rows per CPU second and rows per wall second (the wall figure waits for
// the fsync of every commit; issue 8 wants >= 20,000 rows/s).
// The database is a new file under $TMPDIR (default /tmp): it must be on a disk, not tmpfs, for fsync.
// PostgreSQL instead (synchronous_commit on, as every pooled session sets): SWITCHBOARD_BENCH_CONNECTION=
// "postgresql://host=... dbname=... user=..." and the password, if any, in SWITCHBOARD_BENCH_PASSWORD; the
// rows are appended to that database's call log and left there (use a throw-away database).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "connection.hpp"
#include "database.hpp"

namespace sdk = switchboard::sdk;
namespace store = switchboard::plugins::soci_storage;

namespace {

constexpr std::size_t batch_size = 100;

// User-mode CPU of this thread: the CPU time without the kernel's share (writing the WAL and fsync).
double user_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec) + static_cast<double>(usage.ru_utime.tv_usec) / 1e6;
}

std::vector<sdk::CallRecord> realistic_batch(std::mt19937_64& random) {
  static const char* reasons[] = {"caller +420602123456 matched rule 4711 (project 100)",
                                  "operator 114 busy",
                                  "operator 115 not logged in",
                                  "offered to 116",
                                  "116 answered after 7 s",
                                  "no rule for the caller: project fallback operators",
                                  "caller withheld",
                                  "queue full: overflow to 199"};
  std::vector<sdk::CallRecord> batch(batch_size);
  for (auto& record : batch) {
    record.at = std::chrono::system_clock::now();
    record.call_id = "pbx1-" + std::to_string(random() % 100'000'000);
    record.project = std::to_string(100 + random() % 20);
    record.caller = random() % 20 ? "+420" + std::to_string(600'000'000 + random() % 100'000'000) : "";
    record.operator_extension = random() % 10 ? std::to_string(100 + random() % 200) : "";
    record.outcome = static_cast<sdk::OutcomeCode>(1 + random() % 12);
    if (random() % 4) record.customer_id = static_cast<std::int64_t>(1 + random() % 1'000'000);
    record.strategy = "project_rules";
    for (std::size_t n = 3 + random() % 3; n > 0; --n) record.reasons.push_back(reasons[random() % std::size(reasons)]);
  }
  return batch;
}

void BM_AppendCalls(benchmark::State& state) {
  auto file = std::filesystem::temp_directory_path() /
              ("switchboard-calllog-bench-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(file);
  const char* connection = std::getenv("SWITCHBOARD_BENCH_CONNECTION");
  auto parsed = store::parse_connection(connection && *connection ? connection : "sqlite3://" + file.string());
  if (!parsed.target) {
    state.SkipWithError(("SWITCHBOARD_BENCH_CONNECTION: " + parsed.problem).c_str());
    return;
  }
  if (const char* password = std::getenv("SWITCHBOARD_BENCH_PASSWORD")) parsed.target->password = password;
  {
    store::Database database(*parsed.target, 1);
    std::mt19937_64 random(2006);
    std::vector<std::vector<sdk::CallRecord>> batches;
    for (int i = 0; i < 64; ++i) batches.push_back(realistic_batch(random));
    std::size_t next = 0;
    auto wall_start = std::chrono::steady_clock::now();
    double user_start = user_cpu_seconds();
    for (auto _ : state) {
      // Handed over and back without a copy, as the call engine moves its batch in; the records come back
      // with their sequences, which the next append of the same batch ignores.
      auto& batch = batches[next++ % batches.size()];
      batch = database.append_calls(std::move(batch));
      benchmark::DoNotOptimize(batch.data());
    }
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_start;
    double user = user_cpu_seconds() - user_start;
    auto rows = static_cast<double>(state.iterations() * batch_size);
    state.counters["rows_per_cpu_s"] =
        benchmark::Counter(static_cast<double>(batch_size), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["cpu_s_per_row"] = benchmark::Counter(
        static_cast<double>(batch_size), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["user_cpu_us_per_row"] = user / rows * 1e6;
    state.counters["rows_per_wall_s"] = rows / wall.count();
    database.close();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
}
// At least 3 s of the thread's CPU time (several times that of wall time, which waits for the fsyncs);
// SWITCHBOARD_BENCH_MIN_TIME=SECONDS changes it (bench/run.sh quick).
double min_time() {
  const char* value = std::getenv("SWITCHBOARD_BENCH_MIN_TIME");
  return value && *value ? std::atof(value) : 3.0;
}
BENCHMARK(BM_AppendCalls)->Unit(benchmark::kMicrosecond)->MinTime(min_time());

}  // namespace

BENCHMARK_MAIN();
