#include "scenario.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <tuple>
#include <utility>

#include "model_settings.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace switchboard::pbxsim {
namespace {

using sdk::ConfigNode;
using sdk::ConfigSchema;
using sdk::Diagnostics;
using sdk::SourcePosition;
using sdk::ValueType;

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

// The `sim` driver's traffic keys, from the model's own declaration.
ConfigSchema calls_schema() {
  ConfigSchema s;
  sim::add_model_keys(s);
  return s;
}

// Numbers must be non-empty and name one device each: a number cannot be both a project and an extension.
// A hunt group's number is a device of its own too; its members must be extensions.
void check_numbers(const sdk::Settings& root, Diagnostics& diag) {
  std::map<std::string, std::string> owner;  // number -> "projects[0]"
  const auto groups = root.objects("hunt_groups");
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& number = groups[i]->string("number");
    std::string path = "hunt_groups[" + std::to_string(i) + "]";
    if (!number.empty()) owner.emplace(number, path);  // twice is check_hunt_groups' to report
  }
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
  const auto extensions = root.strings("extensions");
  for (const auto* group : groups)
    for (const auto& member : group->strings("members"))
      if (!member.empty() && std::find(extensions.begin(), extensions.end(), member) == extensions.end())
        diag.error(*group, "members", "'" + member + "' is not one of the extensions");
}

}  // namespace

sdk::ConfigSchema scenario_schema() {
  ConfigSchema s;
  auto numbers = sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string));
  s.add("projects", numbers).required().min(1).doc("The project numbers calls arrive on.");
  s.add("extensions", numbers).required().min(1)
      .doc("The operator extensions; every other number is an unknown device.");
  s.add("hunt_groups", sim::hunt_groups_type())
      .doc("Hunt groups that ring all their members at once, {number, members} each; members are extensions and "
           "start joined. SetAgentState joins (loggedOn, ready) or leaves (loggedOff, notReady) them.");
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
  // The host's YAML reader: positions, duplicate keys and ${ENV} work as in the host's configuration.
  ConfigNode root = core::parse_yaml(yaml_text, file, diag);
  if (!diag.empty()) return std::nullopt;
  // "status_interval: 0" reads as "never"; the SDK's durations want a unit, so the bare zero gets one.
  if (root.is_map())
    for (auto& entry : root.entries())
      if (entry.key == "status_interval" && entry.value.is_scalar() && entry.value.text() == "0")
        entry.value = ConfigNode::scalar("0s", entry.value.position());
  auto settings = sdk::apply_schema(scenario_schema(), root, "", diag);
  if (!settings) return std::nullopt;

  sim::check_hunt_groups(*settings, "hunt_groups", diag);
  check_numbers(*settings, diag);
  sim::check_model_settings(settings->object("calls"), diag);
  Scenario scenario;
  scenario.projects = settings->strings("projects");
  scenario.extensions = settings->strings("extensions");
  scenario.hunt_groups = sim::hunt_groups(*settings, "hunt_groups");
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
  scenario.calls = sim::model_settings(settings->object("calls"));
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
  core::print_diagnostics(diag, out);
  out << diag.size() << (diag.size() == 1 ? " error" : " errors") << " in " << file << '\n';
}

}  // namespace switchboard::pbxsim
