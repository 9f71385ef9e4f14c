// The call engine in process: routed calls per CPU second, beside a bare floor of hash lookups.
//
//   engine_bench [--customers N] [--calls M] [--data DIR] [--json]
//
// Setup (not timed): N customers (default 1,000,000) made by core::generate_rules (the generator behind
// `switchboard rules generate`: Czech names and numbers, projects 100/200/300, operators 101-117 shared out
// over them, 1-3 operators a customer taken in turn from the project's pool), each given exactly 3 numbers,
// normalised as an import does, and written once into an SQLite file DIR/customers-N-v1.sqlite through the
// `soci` storage (kept and reused by later runs). Each run copies that file to a scratch file (on /dev/shm
// when it exists, else in DIR) so the call log it writes never grows the kept file, then starts a
// core::Runtime in virtual time, as `switchboard simulate` does, with real plugins: the `soci` storage, the
// `project_rules` strategy and the `sim` driver offering M calls (default 20,000). The sim driver's own
// traffic keys give the caller mix: known_callers 0.75 (a random number of a random customer, calling that
// customer's project), withheld_callers 0.05, the rest (20%) random Czech mobiles. Operators answer with the
// sim driver's default behaviour (85% answer after 2-8 s, talk 20-180 s, callers hang up after 15-60 s,
// 10% of operators logged out); 6 calls a minute of virtual time keep the 20 operators busy, so many calls
// skip busy operators or ring unanswered first. Outcomes of the default run: code 1 (rule operator) 41%,
// 2 (project operator) 37%, 3 (all-projects operator) 6%, 8 (withheld) 3%, 9 (all busy) 9%, 11 (hung up) 3%.
//
// What is timed (the "engine" figure, cpu_seconds): the CPU time (CLOCK_THREAD_CPUTIME_ID) of this thread
// across Runtime::run_until_idle(), from the first offered call until the last call's record is stored. In
// virtual time this thread runs the whole io_context: the sim PBX model and its timers, the driver's
// events, the event bus, the call engine (device table, the strategy's decision with the customer lookup,
// deflects, ring timeouts, the call record) and the call-log pipeline's engine side; plus an on_record
// observer that keeps each call's caller for the floor (one string copy a call). Not in it: the one-time
// customer load and index build (Runtime::start), and the blocking work, which stores the call log in SQLite
// (WAL, synchronous FULL). In virtual time this thread runs that work itself whenever no handler is ready
// (Runtime::run_blocking), and its CPU time is kept apart (Runtime::blocking_cpu) and printed beside the
// figure (blocking_cpu_seconds): in real time it runs on the blocking pool's threads. Calls in virtual time
// arrive seconds apart, far beyond the 10 ms group-commit window, so each call is a transaction of its own,
// which a busy real-time host batches.
// calls_per_second = M / cpu_seconds.
//
// The floor (floor_lookups_per_second): the same callers, normalised beforehand, looked up in a plain
// std::unordered_map<std::string, int64_t> of every customer number -> customer id; CPU time of the lookup
// loop only, repeated until it has run at least 0.3 s. ratio = engine CPU per call / floor CPU per lookup.
//
// Also on stderr, for where the time goes: the same callers decided again by CallEngine::decide (the
// strategy's decision alone, as `route explain` asks it, on the engine strand, every operator idle).
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

// Under callgrind (bench/callgrind.sh runs it with --instr-atstart=no), only the timed part is instrumented.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/number_plan.hpp"
#include "switchboard/core/plugin_registry.hpp"
#include "switchboard/core/rules_generator.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/core/storage_session.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace fs = std::filesystem;
namespace sdk = switchboard::sdk;
namespace core = switchboard::core;

namespace {

constexpr int data_version = 1;  // bump when the generated customers change: old files are then ignored

double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// This thread's user and system CPU seconds (the engine thread's system time is mostly waiting for, and
// being woken by, the blocking pool's call-log appends).
std::pair<double, double> thread_user_system() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return {static_cast<double>(u.ru_utime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec) * 1e-6,
          static_cast<double>(u.ru_stime.tv_sec) + static_cast<double>(u.ru_stime.tv_usec) * 1e-6};
}

double wall() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

const char* const projects[] = {"100", "200", "300"};
const char* const all_projects_operators = "[\"118\", \"119\", \"120\"]";

core::NumberPlan number_plan() {
  core::NumberPlan::Options o;
  o.region = "CZ";
  o.pbx_exit_code = "0";
  o.internal_max_digits = 4;
  return core::NumberPlan(o);
}

// The customers, the same for a given N on every run: the generator's, each filled up to 3 numbers with
// mobiles of 791-799 (prefixes the generator does not use, so every number stays unique), normalised.
std::vector<sdk::Rule> make_customers(std::size_t customers, const core::NumberPlan& plan) {
  core::RuleGeneratorOptions g;
  g.customers = customers;
  g.projects = {projects[0], projects[1], projects[2]};
  for (int ext = 101; ext <= 117; ++ext) g.operators.push_back(std::to_string(ext));
  g.seed = 1;
  g.max_numbers = 3;
  g.lookup_only_percent = 0;  // every customer belongs to a project: known callers route by their rule
  auto rules = core::generate_rules(g);
  std::uint64_t extra = 0;
  for (auto& r : rules) {
    for (int k = 0; k < 3; ++k) {
      if (r.callers[k].empty()) {
        std::uint64_t n = extra++;
        r.callers[k] = fmt::format("{} {:03} {:03}", 791 + n / 1'000'000, n / 1000 % 1000, n % 1000);
      }
      auto normalised = plan.normalise(r.callers[k]);
      r.callers_normalised[k] = normalised ? *normalised : plan.normalise_caller(r.callers[k]);
    }
  }
  return rules;
}

std::string host_yaml(const fs::path& db, const fs::path& work, std::size_t calls) {
  std::ostringstream y;
  y << "logging: {level: warn}\n"
       "numbers: {region: CZ, pbx_exit_code: \"0\", internal_max_digits: 4}\n"
       "runtime: {start_timeout: 1800s, stop_timeout: 600s}\n"
       "command_log: \""
    << (work / "LOG_SA.TXT").string()
    << "\"\n"
       "control: {socket: \"\"}\n"
       "storage: {main: {type: soci, config: {connection: \"sqlite3://"
    << db.string()
    << "\"}}}\n"
       "routing:\n"
       "  projects:\n"
       "    type: project_rules\n"
       "    config:\n"
       "      storage: main\n"
       "      projects:\n"
       "        - {number: \"100\", operators: [\"101\", \"104\", \"107\", \"110\", \"113\", \"116\"]}\n"
       "        - {number: \"200\", operators: [\"102\", \"105\", \"108\", \"111\", \"114\", \"117\"]}\n"
       "        - {number: \"300\", operators: [\"103\", \"106\", \"109\", \"112\", \"115\"]}\n"
       "      all_projects_operators: "
    << all_projects_operators
    << "\n"
       "      ring_timeout: 20s\n"
       "drivers:\n"
       "  pbx:\n"
       "    type: sim\n"
       "    config: {seed: 1, speed: 1, calls_per_minute: 6, max_calls: "
    << calls << ", known_callers: 0.75, withheld_callers: 0.05}\n";
  return y.str();
}

std::optional<core::HostConfig> config_from(const std::string& yaml, const core::PluginRegistry& registry) {
  sdk::Diagnostics diag;
  auto root = core::parse_yaml(yaml, "engine_bench.yaml", diag);
  auto config = core::validate_config(root, "engine_bench.yaml", registry, diag);
  if (!config) core::print_diagnostics(diag, std::cerr);
  return config;
}

// Writes the customers into a new SQLite file at `target` (through a temporary name, so an interrupted
// load leaves nothing that looks finished).
bool load_customers(const std::vector<sdk::Rule>& customers, const fs::path& target, const core::PluginRegistry& registry,
                    core::LogSetup& logs) {
  fs::path partial = target;
  partial += ".partial";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(partial.string() + suffix);
  auto config = config_from(host_yaml(partial, target.parent_path(), 1), registry);
  if (!config) return false;
  logs.configure(config->host.object("logging"), true);
  auto start = wall();
  {
    auto session = core::StorageSession::open(*config, logs, "main");
    if (!session.ok()) {
      std::cerr << "error: " << session.error().message << '\n';
      return false;
    }
    sdk::RuleWrite write;
    write.rules = customers;
    auto written = (*session)->call<sdk::RuleWriteSummary>(
        [&write](sdk::Storage& s, auto done) { s.write_rules(std::move(write), done); });
    if (!written.ok()) {
      std::cerr << "error: writing the customers: " << written.error().message << '\n';
      return false;
    }
  }
  fs::rename(partial, target);
  std::cerr << fmt::format("engine_bench: loaded {} customers into {} in {:.1f} s (once; reused by later runs)\n",
                           customers.size(), target.string(), wall() - start);
  return true;
}

int usage() {
  std::cerr << "usage: engine_bench [--customers N] [--calls M] [--data DIR] [--json]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t customers = 1'000'000;
  std::size_t calls = 20'000;
  fs::path data;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--customers") customers = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--calls") calls = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--data") data = value();
    else if (a == "--json") json = true;
    else return usage();
  }
  if (customers == 0 || calls == 0) return usage();
  if (data.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    data = fs::path(tmp && *tmp ? tmp : "/tmp") / "switchboard-engine-bench";
  }
  fs::create_directories(data);
  data = fs::absolute(data);

  core::PluginRegistry registry;
  registry.load_search_path({});
  core::LogSetup logs;
  auto plan = number_plan();

  // --- setup, not timed ---
  auto customers_rules = make_customers(customers, plan);
  fs::path kept = data / fmt::format("customers-{}-v{}.sqlite", customers, data_version);
  if (!fs::exists(kept) && !load_customers(customers_rules, kept, registry, logs)) return 1;
  // The floor's map: every customer number -> customer id.
  std::unordered_map<std::string, std::int64_t> floor_map;
  floor_map.reserve(customers * 3);
  for (const auto& r : customers_rules)
    for (const auto& n : r.callers_normalised)
      if (!n.empty()) floor_map.emplace(n, r.id);
  customers_rules.clear();
  customers_rules.shrink_to_fit();

  fs::path scratch_root = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : data;
  fs::path work = scratch_root / fmt::format("switchboard-engine-bench-{}", ::getpid());
  fs::create_directories(work);
  fs::copy_file(kept, work / "db.sqlite");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{work};

  auto config = config_from(host_yaml(work / "db.sqlite", work, calls), registry);
  if (!config) return 1;
  logs.configure(config->host.object("logging"), true);
  auto start_wall = wall();
  core::Runtime runtime(*config, logs, core::ClockMode::virtual_time,
                        sdk::TimePoint(std::chrono::seconds(1'764'000'000)));
  if (auto s = runtime.start(); !s.ok()) {
    std::cerr << "error: " << s.error().message << '\n';
    return 1;
  }
  auto* engine = runtime.engine();
  if (!engine) {
    std::cerr << "error: no call engine\n";
    return 1;
  }
  std::cerr << fmt::format("engine_bench: runtime started in {:.1f} s (customer index and the sim's known callers)\n",
                           wall() - start_wall);
  std::vector<std::string> callers;    // as the PBX presented them, in the order the calls finished
  std::vector<std::string> dialled;
  callers.reserve(calls);
  dialled.reserve(calls);
  std::map<sdk::OutcomeCode, std::size_t> outcomes;
  std::size_t with_customer = 0;
  runtime.on_engine([&] {
    engine->on_record([&](const sdk::CallRecord& r) {
      callers.push_back(r.caller);
      dialled.push_back(r.project);
      ++outcomes[r.outcome];
      if (r.customer_id) ++with_customer;
    });
  });

  // --- timed: the calls ---
  auto split0 = thread_user_system();
  auto blocking0 = runtime.blocking_cpu();
  double process0 = process_cpu(), thread0 = thread_cpu(), wall0 = wall();
  CALLGRIND_START_INSTRUMENTATION;
  runtime.run_until_idle();
  CALLGRIND_STOP_INSTRUMENTATION;
  double thread1 = thread_cpu(), process1 = process_cpu(), wall1 = wall();
  auto split1 = thread_user_system();
  double blocking_cpu = std::chrono::duration<double>(runtime.blocking_cpu() - blocking0).count();
  double other_threads_cpu = (process1 - process0) - (thread1 - thread0);
  double engine_cpu = thread1 - thread0 - blocking_cpu;
  std::size_t records = callers.size();

  // --- the decision alone, for the breakdown on stderr ---
  double decide_cpu = 0;
  runtime.on_engine([&] {
    std::size_t offers = 0;
    double t0 = thread_cpu();
    for (std::size_t i = 0; i < records; ++i) {
      auto d = engine->decide(dialled[i], callers[i]);
      if (d && !d->targets.empty()) ++offers;
    }
    decide_cpu = thread_cpu() - t0;
    if (offers == 0) std::cerr << "engine_bench: warning: no decision offered a target\n";
  });
  runtime.stop();

  // --- the floor: the same callers, hash lookups only ---
  std::vector<std::string> lookups;
  lookups.reserve(records);
  for (const auto& c : callers) lookups.push_back(c.empty() ? std::string() : plan.normalise_caller(c));
  std::size_t passes = 0;
  std::int64_t checksum = 0;
  std::size_t found = 0;
  double f0 = thread_cpu(), floor_cpu = 0;
  do {
    for (const auto& n : lookups) {
      auto it = floor_map.find(n);
      if (it != floor_map.end()) {
        checksum += it->second;
        ++found;
      }
    }
    ++passes;
    floor_cpu = thread_cpu() - f0;
  } while (floor_cpu < 0.3 && records > 0);
  if (checksum == 42) std::cerr << ' ';  // keeps the loop's results alive

  if (records != calls)
    std::cerr << fmt::format("engine_bench: warning: {} calls offered, {} records\n", calls, records);
  double calls_per_second = records / engine_cpu;
  double floor_per_second = static_cast<double>(records * passes) / floor_cpu;
  double ratio = calls_per_second > 0 ? floor_per_second / calls_per_second : 0;
  std::string mix;
  for (const auto& [code, n] : outcomes) mix += fmt::format(" {}:{:.1f}%", code, 100.0 * n / records);
  std::cerr << fmt::format(
      "engine_in_process: {} customers, {} calls ({:.1f}% with a customer, {:.1f}% withheld; outcomes{}) "
      "in {:.2f} s engine-thread CPU (thread user {:.2f} s + system {:.2f} s, minus {:.2f} s of blocking work: the call log's "
      "SQLite appends, {:.2f} us a call) "
      "= {:.0f} calls/s ({:.2f} us a call); floor {:.0f} lookups/s ({:.3f} us); "
      "ratio {:.1f}. Other threads: {:.2f} s CPU; "
      "wall {:.2f} s. Decision alone (CallEngine::decide, same callers): {:.2f} us a call.\n",
      customers, records, 100.0 * with_customer / records,
      100.0 * std::count(callers.begin(), callers.end(), std::string()) / records, mix, engine_cpu,
      split1.first - split0.first, split1.second - split0.second, blocking_cpu, 1e6 * blocking_cpu / records,
      calls_per_second, 1e6 * engine_cpu / records, floor_per_second, 1e6 / floor_per_second, ratio, other_threads_cpu,
      wall1 - wall0, 1e6 * decide_cpu / records);
  if (json)
    std::cout << fmt::format(
        "{{\"name\":\"engine_in_process\",\"customers\":{},\"calls\":{},\"calls_per_second\":{:.0f},"
        "\"floor_lookups_per_second\":{:.0f},\"ratio\":{:.2f},\"cpu_seconds\":{:.3f},"
        "\"blocking_cpu_seconds\":{:.3f}}}\n",
        customers, calls, calls_per_second, floor_per_second, ratio, engine_cpu, blocking_cpu);
  else
    std::cout << fmt::format("{:.0f} calls/s (engine-thread CPU), floor {:.0f} lookups/s, ratio {:.2f}\n",
                             calls_per_second, floor_per_second, ratio);
  return 0;
}
