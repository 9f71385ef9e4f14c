#include "switchboard/core/call_commands.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/logging.hpp"
#include "switchboard/core/rules_csv.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/core/storage_session.hpp"
#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::core {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_input = 2;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c == ',' || c == ';' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto s = d.count() / 1000.0;
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto total = static_cast<long long>(s);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

const char* outcome_meaning(sdk::OutcomeCode code) {
  switch (code) {
    case 1: return "operator of the customer's rule";
    case 2: return "project operator (no rule operator free, or no rule)";
    case 3: return "operator for all projects";
    case 4: return "busy target (all rule operators busy)";
    case 8: return "withheld caller: operator for all projects";
    case 9: return "all operators busy: not handed over";
    case 10: return "no rules in the database: operator for all projects";
    case 11: return "caller hung up before anyone answered";
    case 12: return "ended by the unanswered-call policy";
    case 20: return "member of the SA group";
    case 21: return "the SA group's overflow target";
    case 22: return "SA group full or nobody joined: call ended";
    default: return "";
  }
}

}  // namespace

int route_explain(const RouteExplainOptions& o) {
  LoadedConfig loaded;
  loaded.config = load_config_file(o.config_file, loaded.registry, o.plugin_dirs, std::cerr, false);
  if (!loaded.config) return exit_bad_input;
  // Only what deciding needs: the strategies and the storage they route from. No PBX, no exporters.
  HostConfig subset{loaded.config->file, loaded.config->host, {}};
  for (const auto& i : loaded.config->instances)
    if (i.category == sdk::Category::routing || i.category == sdk::Category::storage) subset.instances.push_back(i);
  LogSetup logs;
  logs.configure(subset.host.object("logging"), true);
  Runtime runtime(subset, logs, ClockMode::virtual_time, std::chrono::system_clock::now());
  if (auto s = runtime.start(); !s.ok()) {
    std::cerr << "error: " << s.error().message << '\n';
    return exit_failure;
  }
  auto* engine = runtime.engine();
  if (!engine) {
    std::cerr << "error: " << o.config_file << " configures no routing strategy\n";
    return exit_bad_input;
  }
  std::optional<sdk::RoutingDecision> decision;
  std::string strategy, normalised;
  runtime.on_engine([&] {
    auto now = std::chrono::steady_clock::now();
    for (const auto& d : split_list(o.busy)) engine->devices().set(d, sdk::DeviceState::busy, now);
    for (const auto& d : split_list(o.offline)) engine->devices().set(d, sdk::DeviceState::offline, now);
    decision = engine->decide(o.project, o.caller, &strategy);
  });
  NumberPlan plan = NumberPlan::from_settings(subset.host.object("numbers"));
  normalised = o.caller.empty() ? "" : plan.normalise_caller(o.caller);
  runtime.stop();
  if (!decision) {
    std::cerr << "error: no routing strategy serves the number " << o.project << '\n';
    return exit_bad_input;
  }
  using Action = sdk::RoutingDecision::Action;
  const char* action = decision->action == Action::queue ? "queue" : decision->action == Action::clear ? "clear" : "offer";
  bool routed = decision->action == Action::offer && !decision->targets.empty();
  sdk::OutcomeCode outcome = routed ? decision->targets.front().outcome : decision->outcome_when_exhausted;
  std::string chosen = routed ? decision->targets.front().destination : "";
  if (o.json) {
    nlohmann::json j;
    j["project"] = o.project;
    j["caller"] = o.caller;
    j["caller_normalised"] = normalised;
    j["strategy"] = strategy;
    j["customer_id"] = decision->customer_id ? nlohmann::json(*decision->customer_id) : nlohmann::json(nullptr);
    j["action"] = action;
    j["outcome"] = decision->action == Action::queue ? nlohmann::json(nullptr) : nlohmann::json(outcome);
    j["operator"] = chosen;
    j["steps"] = decision->trail;
    j["candidates"] = nlohmann::json::array();
    for (const auto& t : decision->targets)
      j["candidates"].push_back({{"operator", t.destination}, {"outcome", t.outcome}, {"reason", t.reason}});
    std::cout << j.dump() << '\n';
    return exit_ok;
  }
  std::cout << "call to " << o.project << " from " << (o.caller.empty() ? "a withheld number" : o.caller)
            << (normalised.empty() || normalised == o.caller ? "" : " (" + normalised + ")") << ", strategy " << strategy
            << '\n';
  std::cout << "customer: " << (decision->customer_id ? "rule " + std::to_string(*decision->customer_id) : "none") << '\n';
  std::cout << "steps:\n";
  for (std::size_t i = 0; i < decision->trail.size(); ++i) std::cout << "  " << i + 1 << ". " << decision->trail[i] << '\n';
  std::cout << "candidates, tried in order until one answers:\n";
  if (decision->targets.empty()) std::cout << "  none\n";
  for (const auto& t : decision->targets)
    std::cout << "  " << t.destination << "  code " << t.outcome << "  " << t.reason << '\n';
  if (decision->action == Action::queue) {
    std::cout << "result: the call waits in the queue until a target is free\n";
    return exit_ok;
  }
  std::cout << "result: " << (routed ? "operator " + chosen : "no operator") << ", outcome " << outcome << " ("
            << outcome_meaning(outcome) << ")" << (decision->action == Action::clear ? ", the call is ended" : "") << "\n";
  return exit_ok;
}

int simulate(const SimulateOptions& o) {
  LoadedConfig loaded;
  loaded.config = load_config_file(o.config_file, loaded.registry, o.plugin_dirs, std::cerr, false);
  if (!loaded.config) return exit_bad_input;
  HostConfig config = *loaded.config;
  int sims = 0;
  for (auto& i : config.instances) {
    if (i.category != sdk::Category::driver) continue;
    if (i.type != "sim") {
      std::cerr << "error: simulate runs the simulated PBX only; driver " << i.name << " is of type " << i.type << '\n';
      return exit_bad_input;
    }
    ++sims;
    // The command line overrides the scenario's own values, checked like the file's.
    auto set = [&](const char* key, std::string text) {
      sdk::Diagnostics diag;
      const auto* spec = i.factory->factory->schema().find(key);
      if (!spec) return;
      auto v = sdk::detail::apply_value(spec->type, sdk::ConfigNode::scalar(text), std::string("--") + key, false, diag);
      if (v) i.settings.set(key, *v);
    };
    set("max_calls", std::to_string(o.calls));
    set("speed", "1");  // virtual time runs as fast as it can anyway; durations stay as configured
    if (o.seed) set("seed", std::to_string(*o.seed));
    if (o.rate) set("calls_per_minute", fmt::format("{}", *o.rate));
  }
  if (sims == 0) {
    std::cerr << "error: " << o.config_file << " configures no sim driver\n";
    return exit_bad_input;
  }
  LogSetup logs;
  logs.configure(config.host.object("logging"), true);
  // A fixed start, so the same seed writes the same call log.
  auto start = parse_local_time(o.start);
  if (!start) {
    std::cerr << "error: --start '" << o.start << "' is not a time (YYYY-MM-DD HH:MM:SS)\n";
    return exit_bad_input;
  }
  Runtime runtime(config, logs, ClockMode::virtual_time, *start);
  if (auto s = runtime.start(); !s.ok()) {
    std::cerr << "error: " << s.error().message << '\n';
    return exit_failure;
  }
  if (!runtime.engine()) {
    std::cerr << "error: " << o.config_file << " configures no routing strategy\n";
    return exit_bad_input;
  }
  std::map<sdk::OutcomeCode, std::size_t> outcomes;
  std::map<std::string, std::size_t> per_operator;
  std::vector<std::chrono::milliseconds> waits;
  std::size_t records = 0;
  auto* clock = runtime.virtual_clock();
  runtime.on_engine([&] {
    runtime.engine()->on_record([&](const sdk::CallRecord& r) {
      ++records;
      ++outcomes[r.outcome];
      if (!r.operator_extension.empty()) {
        ++per_operator[r.operator_extension];
        waits.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(clock->now() - r.at));
      }
    });
  });
  runtime.run_until_idle();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock->now() - *start);
  runtime.stop();

  std::cout << fmt::format("simulated {} calls in {} of virtual time{}\n", records, format_duration(elapsed),
                           o.seed ? fmt::format(" (seed {})", *o.seed) : "");
  std::cout << "outcome  calls  share\n";
  for (const auto& [code, n] : outcomes)
    std::cout << fmt::format("{:>7}  {:>5}  {:>5.1f}%  {}\n", code, n, records ? 100.0 * n / records : 0.0,
                             outcome_meaning(code));
  std::cout << "answered per operator:";
  for (const auto& [op, n] : per_operator) std::cout << ' ' << op << '=' << n;
  std::cout << '\n';
  if (!waits.empty()) {
    std::sort(waits.begin(), waits.end());
    auto pct = [&](double p) { return waits[std::min(waits.size() - 1, static_cast<std::size_t>(p * waits.size()))]; };
    std::cout << fmt::format("wait until answered: p50 {}  p90 {}  p99 {}  max {}\n", format_duration(pct(0.5)),
                             format_duration(pct(0.9)), format_duration(pct(0.99)), format_duration(waits.back()));
  }
  std::vector<std::string> exporters;
  for (const auto& i : config.instances)
    if (i.category == sdk::Category::exporter) exporters.push_back(i.name);
  if (!exporters.empty()) {
    std::cout << "call log written through:";
    for (const auto& e : exporters) std::cout << ' ' << e;
    std::cout << '\n';
  }
  return exit_ok;
}

int calllog_export(const CallLogExportOptions& o) {
  auto encoding = encoding_option(o.encoding);
  if (!encoding) return exit_bad_input;
  int code = exit_ok;
  auto tool = open_tool_storage(o.config_file, o.plugin_dirs, o.storage, code);
  if (!tool) return code;
  auto& storage = *tool->session;
  // Everything stored up to now; records of calls that finish meanwhile get higher sequences, so they are
  // neither written nor cleared here, and the next export takes them.
  std::string text;
  std::uint64_t last = 0;
  std::size_t count = 0;
  for (;;) {
    auto page = storage.call<std::vector<sdk::CallRecord>>(
        [&](sdk::Storage& s, auto done) { s.read_calls(last, 10'000, done); });
    if (!page) {
      std::cerr << "error: cannot read the call log: " << page.error().message << '\n';
      return exit_failure;
    }
    if (page->empty()) break;
    for (const auto& r : *page) {
      text += sdk::seed_log_line(r);
      text += sdk::seed_log_line_end;
      last = r.sequence;
      ++count;
    }
  }
  // The same bytes the calllog_file exporter writes: a character CP1250 cannot hold becomes '?'.
  auto bytes = *encoding == TextEncoding::cp1250 ? sdk::utf8_to_cp1250(text) : std::optional<std::string>(text);
  if (!write_file_replacing(o.output, *bytes)) return exit_failure;
  std::cout << "wrote " << count << " records to " << o.output;
  if (o.clear && count > 0) {
    // Only after the file is safely written: exactly the records it holds, in one statement.
    auto cleared = storage.call<std::uint64_t>([&](sdk::Storage& s, auto done) { s.delete_calls_through(last, done); });
    if (!cleared) {
      std::cout << '\n';
      std::cerr << "error: the log was written but not cleared: " << cleared.error().message << '\n';
      return exit_failure;
    }
    std::cout << "; cleared " << *cleared << " from the database";
  }
  std::cout << '\n';
  return exit_ok;
}

}  // namespace switchboard::core
