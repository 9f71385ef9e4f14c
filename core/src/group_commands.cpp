#include "switchboard/core/group_commands.hpp"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control_server.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/storage_session.hpp"
#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::core {
namespace {
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_input = 2;
}  // namespace

int groups_command(const GroupsOptions& o) {
  LoadedConfig loaded;
  loaded.config = load_config_file(o.config_file, loaded.registry, o.plugin_dirs, std::cerr, false);
  if (!loaded.config) return exit_bad_input;
  const auto& path = loaded.config->host.object("control").string("socket");
  if (path.empty()) {
    std::cerr << "error: " << o.config_file << " sets no control.socket, so a running host takes no commands\n";
    return exit_bad_input;
  }
  auto reply = send_control_command(path, o.action == "status" ? "groups status" : "groups " + o.action + " " + o.extension);
  if (!reply) {
    std::cerr << "error: " << reply.error().message << '\n';
    return exit_failure;
  }
  // The first line is the verdict (ok / error: …); the rest is for the person.
  const auto& text = reply.value();
  const auto first_end = text.find('\n');
  const std::string verdict = text.substr(0, first_end);
  const std::string rest = first_end == std::string::npos ? "" : text.substr(first_end + 1);
  if (verdict != "ok") {
    std::cerr << verdict << '\n' << rest;
    return exit_failure;
  }
  std::cout << rest;
  return exit_ok;
}

int missed_list(const MissedListOptions& o) {
  int code = exit_ok;
  auto tool = open_tool_storage(o.config_file, o.plugin_dirs, o.storage, code);
  if (!tool) return code;
  std::optional<std::string> agent;
  if (!o.agent.empty()) agent = o.agent;
  auto missed = tool->session->call<std::vector<sdk::MissedCall>>([&](sdk::Storage& s, auto done) {
    s.list_missed(agent, std::move(done));
  });
  if (!missed) {
    std::cerr << "error: cannot read the missed calls: " << missed.error().message << '\n';
    return exit_failure;
  }
  if (o.json) {
    for (const auto& m : *missed) {
      nlohmann::json j{{"id", m.id},         {"at", sdk::iso8601_local(m.at)}, {"number", m.number},
                       {"caller", m.caller}, {"agent", m.agent_extension},    {"done", m.done}};
      j["customer_id"] = m.customer_id ? nlohmann::json(*m.customer_id) : nlohmann::json(nullptr);
      std::cout << j.dump() << '\n';
    }
    return exit_ok;
  }
  if (missed->empty()) {
    std::cout << (o.agent.empty() ? "no missed calls\n" : "no missed calls for " + o.agent + "\n");
    return exit_ok;
  }
  std::cout << fmt::format("{:<6}  {:<19}  {:<7}  {:<16}  {:<6}  {:<8}  {}\n", "id", "time", "number", "caller", "agent",
                           "customer", "done");
  for (const auto& m : *missed)
    std::cout << fmt::format("{:<6}  {:<19}  {:<7}  {:<16}  {:<6}  {:<8}  {}\n", m.id, sdk::seed_timestamp(m.at),
                             m.number, m.caller.empty() ? "(withheld)" : m.caller, m.agent_extension,
                             m.customer_id ? std::to_string(*m.customer_id) : "-", m.done ? "yes" : "no");
  return exit_ok;
}

}  // namespace switchboard::core
