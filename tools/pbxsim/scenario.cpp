#include "scenario.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <tuple>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace switchboard::pbxsim {
namespace {

using sdk::ConfigNode;
using sdk::ConfigSchema;
using sdk::Diagnostics;
using sdk::SourcePosition;
using sdk::ValueType;

SourcePosition position_of(const YAML::Mark& mark, const std::string& file) {
  if (mark.line < 0) return {file, 1, 1};
  return {file, mark.line + 1, mark.column + 1};
}

// YAML to the SDK's ConfigNode tree, positions kept, so the SDK's schema checker reports FILE:LINE:COL
// exactly as the host does for its own configuration.
ConfigNode convert(const YAML::Node& node, const std::string& file, const std::string& path, Diagnostics& diag,
                   const SourcePosition& fallback) {
  SourcePosition pos = node.Mark().line < 0 ? fallback : position_of(node.Mark(), file);
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: {
      ConfigNode empty;
      empty.set_position(pos);
      return empty;
    }
    case YAML::NodeType::Scalar:
      return ConfigNode::scalar(node.Scalar(), pos);
    case YAML::NodeType::Sequence: {
      std::vector<ConfigNode> items;
      for (const auto& item : node)
        items.push_back(convert(item, file, path + "[" + std::to_string(items.size()) + "]", diag, pos));
      return ConfigNode::list(std::move(items), pos);
    }
    case YAML::NodeType::Map: {
      std::vector<ConfigNode::Entry> entries;
      std::map<std::string, int> first_line;
      for (const auto& kv : node) {
        SourcePosition key_pos = position_of(kv.first.Mark(), file);
        if (!kv.first.IsScalar()) {
          diag.error(key_pos, path, "map keys must be plain strings");
          continue;
        }
        const std::string& key = kv.first.Scalar();
        std::string key_path = path.empty() ? key : path + "." + key;
        if (auto [it, fresh] = first_line.emplace(key, key_pos.line); !fresh) {
          diag.error(key_pos, key_path, "duplicate key (first given at line " + std::to_string(it->second) + ")");
          continue;
        }
        entries.push_back({key, key_pos, convert(kv.second, file, key_path, diag, key_pos)});
      }
      return ConfigNode::map(std::move(entries), pos);
    }
  }
  return {};
}

ConfigSchema session_schema() {
  ConfigSchema s;
  s.add("required", ValueType::boolean).default_value(false)
      .doc("Refuse every request before a successful StartApplicationSession (ECMA-354).");
  s.add("application_id", ValueType::string).default_value("")
      .doc("The applicationID a StartApplicationSession must carry; empty: any.");
  s.add("user", ValueType::string).default_value("").doc("The user it must carry; empty: any.");
  s.add("password", ValueType::string).default_value("").secret().doc("The password it must carry; empty: any.");
  return s;
}

ConfigSchema caller_schema() {
  ConfigSchema s;
  s.add("number", ValueType::string).required().doc("The caller's number as the PBX presents it.");
  s.add("project", ValueType::string).default_value("")
      .doc("The project this caller calls; empty: any project.");
  return s;
}

// The `sim` driver's traffic keys (drivers/sim/sim_driver.cpp), with the same names, units and defaults.
ConfigSchema calls_schema() {
  ConfigSchema s;
  s.add("seed", ValueType::integer).min(0).default_value(1)
      .doc("Seed of the simulation; --seed overrides it.");
  s.add("speed", ValueType::number).min(0).default_value("1.0")
      .doc("How many times faster than real time the model runs; must be greater than 0.");
  s.add("calls_per_minute", ValueType::number).min(0).default_value("20")
      .doc("Mean rate of generated calls (exponential gaps); 0: only `call` commands and load mode bring calls.");
  s.add("max_calls", ValueType::integer).min(0).default_value(0).doc("Generated calls in all; 0: unlimited.");
  s.add("known_callers", ValueType::number).range(0, 1).default_value("0.75")
      .doc("Share of generated calls from a number in `callers` (when any).");
  s.add("withheld_callers", ValueType::number).range(0, 1).default_value("0.05")
      .doc("Share of generated calls without a number; known_callers + withheld_callers must not exceed 1.");
  s.add("answer_probability", ValueType::number).range(0, 1).default_value("0.85")
      .doc("Chance that an operator answers a call ringing at the extension.");
  s.add("answer_delay_min", ValueType::duration).min(0).default_value("2s").doc("Shortest ring before an answer.");
  s.add("answer_delay_max", ValueType::duration).min(0).default_value("8s").doc("Longest ring before an answer.");
  s.add("talk_time_min", ValueType::duration).min(0).default_value("20s").doc("Shortest conversation.");
  s.add("talk_time_max", ValueType::duration).min(0).default_value("180s").doc("Longest conversation.");
  s.add("abandon_min", ValueType::duration).min(0).default_value("15s")
      .doc("Shortest time a caller waits for an answer, from the call's arrival.");
  s.add("abandon_max", ValueType::duration).min(0).default_value("60s")
      .doc("Longest time a caller waits for an answer.");
  s.add("offline_operators", ValueType::number).range(0, 1).default_value("0.1")
      .doc("Share of the extensions that start logged out.");
  return s;
}

constexpr std::array<std::pair<const char*, const char*>, 3> duration_ranges{{
    {"answer_delay_min", "answer_delay_max"},
    {"talk_time_min", "talk_time_max"},
    {"abandon_min", "abandon_max"},
}};

sim::PbxModelSettings model_settings(const sdk::Settings& s) {
  sim::PbxModelSettings m;
  m.seed = static_cast<std::uint64_t>(s.integer("seed"));
  m.speed = s.number("speed");
  m.calls_per_minute = s.number("calls_per_minute");
  m.max_calls = static_cast<std::uint64_t>(s.integer("max_calls"));
  m.known_callers = s.number("known_callers");
  m.withheld_callers = s.number("withheld_callers");
  m.answer_probability = s.number("answer_probability");
  m.answer_delay_min = s.duration("answer_delay_min");
  m.answer_delay_max = s.duration("answer_delay_max");
  m.talk_time_min = s.duration("talk_time_min");
  m.talk_time_max = s.duration("talk_time_max");
  m.abandon_min = s.duration("abandon_min");
  m.abandon_max = s.duration("abandon_max");
  m.offline_operators = s.number("offline_operators");
  return m;
}

void check_calls(const sdk::Settings& calls, Diagnostics& diag) {
  if (calls.number("speed") <= 0) diag.error(calls, "speed", "must be greater than 0");
  if (calls.number("known_callers") + calls.number("withheld_callers") > 1)
    diag.error(calls, "withheld_callers", "known_callers + withheld_callers must not exceed 1");
  for (const auto& [low, high] : duration_ranges)
    if (calls.duration(low) > calls.duration(high)) diag.error(calls, low, std::string("must not exceed ") + high);
}

// Numbers must be non-empty and name one device each: a number cannot be both a project and an extension.
void check_numbers(const sdk::Settings& root, Diagnostics& diag) {
  std::map<std::string, std::string> owner;  // number -> "projects[0]"
  for (const char* key : {"projects", "extensions"}) {
    const auto& items = root.value(key).items;
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string path = std::string(key) + "[" + std::to_string(i) + "]";
      if (items[i].text.empty()) {
        diag.error(items[i].position, path, "must not be empty");
        continue;
      }
      if (auto [it, fresh] = owner.emplace(items[i].text, path); !fresh)
        diag.error(items[i].position, path, "'" + items[i].text + "' is already given as " + it->second);
    }
  }
}

}  // namespace

sdk::ConfigSchema scenario_schema() {
  ConfigSchema s;
  auto numbers = sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string));
  s.add("projects", numbers).required().min(1).doc("The project numbers calls arrive on.");
  s.add("extensions", numbers).required().min(1)
      .doc("The operator extensions; every other number is an unknown device.");
  s.add("callers", sdk::TypeSpec::list_of(sdk::TypeSpec::object_of(caller_schema())))
      .doc("Known callers, in order: generated calls pick from them by index, load mode takes them in turn.");
  s.add("session", sdk::TypeSpec::object_of(session_schema())).doc("ECMA-354 application session.");
  s.add("status_interval", ValueType::duration).min(0).default_value("30s")
      .doc("Interval of pbxsim's own SystemStatus polls to each client; 0: never poll.");
  s.add("status_misses", ValueType::integer).min(1).default_value(2)
      .doc("Unanswered polls after which pbxsim drops the client.");
  s.add("calls", sdk::TypeSpec::object_of(calls_schema())).doc("The PBX model's traffic (the sim driver's keys).");
  return s;
}

std::optional<Scenario> parse_scenario(const std::string& yaml_text, const std::string& file, Diagnostics& diag) {
  YAML::Node root_yaml;
  try {
    root_yaml = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    diag.error(position_of(e.mark, file), "syntax", e.msg);
    return std::nullopt;
  }
  ConfigNode root = convert(root_yaml, file, "", diag, SourcePosition{file, 1, 1});
  if (!diag.empty()) return std::nullopt;
  // "status_interval: 0" reads as "never"; the SDK's durations want a unit, so the bare zero gets one.
  if (root.is_map())
    for (auto& entry : root.entries())
      if (entry.key == "status_interval" && entry.value.is_scalar() && entry.value.text() == "0")
        entry.value = ConfigNode::scalar("0s", entry.value.position());
  auto settings = sdk::apply_schema(scenario_schema(), root, "", diag);
  if (!settings) return std::nullopt;

  check_numbers(*settings, diag);
  check_calls(settings->object("calls"), diag);
  Scenario scenario;
  scenario.projects = settings->strings("projects");
  scenario.extensions = settings->strings("extensions");
  for (const auto* caller : settings->objects("callers")) {
    const auto& project = caller->string("project");
    if (!project.empty() &&
        std::find(scenario.projects.begin(), scenario.projects.end(), project) == scenario.projects.end())
      diag.error(*caller, "project", "'" + project + "' is not one of the projects");
    scenario.callers.push_back({caller->string("number"), project});
  }
  const auto& session = settings->object("session");
  scenario.session = {session.boolean("required"), session.string("application_id"), session.string("user"),
                      session.string("password")};
  scenario.status_interval = settings->duration("status_interval");
  scenario.status_misses = static_cast<int>(settings->integer("status_misses"));
  scenario.calls = model_settings(settings->object("calls"));
  if (!diag.empty()) return std::nullopt;
  return scenario;
}

std::optional<Scenario> load_scenario(const std::string& path, Diagnostics& diag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error(SourcePosition{path, 0, 0}, "file", "cannot read the scenario: " + std::string(std::strerror(errno)));
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, diag);
}

void print_diagnostics(const Diagnostics& diag, const std::string& file, std::ostream& out) {
  std::vector<sdk::Diagnostic> sorted = diag.errors();
  std::stable_sort(sorted.begin(), sorted.end(), [](const sdk::Diagnostic& a, const sdk::Diagnostic& b) {
    return std::tie(a.position.line, a.position.column) < std::tie(b.position.line, b.position.column);
  });
  for (const auto& d : sorted) {
    out << (d.position.file.empty() ? file : d.position.file);
    if (d.position.line > 0) out << ':' << d.position.line << ':' << d.position.column;
    out << ": error: " << d.path << ": " << d.message << '\n';
  }
  out << diag.size() << (diag.size() == 1 ? " error" : " errors") << " in " << file << '\n';
}

}  // namespace switchboard::pbxsim
