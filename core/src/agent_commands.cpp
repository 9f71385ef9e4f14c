#include "switchboard/core/agent_commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "switchboard/core/storage_session.hpp"
#include "switchboard/sdk/call_log_format.hpp"
#include "switchboard/sdk/routing.hpp"

namespace switchboard::core {
namespace {
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_bad_input = 2;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;  // 0 started, 1 already started, -1 failed
  return ready;
}

// The given extension and group, checked before the storage is opened. False after printing why.
bool check_fields(const AgentsOptions& o) {
  if (o.extension && !sdk::is_digits(*o.extension)) {
    std::cerr << "error: the extension must be digits only, not \"" << *o.extension << "\"\n";
    return false;
  }
  if (o.group && !o.group->empty() && !sdk::is_digits(*o.group)) {
    std::cerr << "error: the SA group must be a number (digits only), not \"" << *o.group << "\"\n";
    return false;
  }
  if (o.role && *o.role != "agent" && *o.role != "administrator") {
    std::cerr << "error: the role is agent or administrator, not \"" << *o.role << "\"\n";
    return false;
  }
  return true;
}

// Overwrites the password's bytes before the string goes.
struct Wiped {
  std::string text;
  ~Wiped() {
    if (!text.empty()) sodium_memzero(text.data(), text.size());
  }
};

bool read_line_without_echo(const std::string& prompt, std::string& into) {
  std::cerr << prompt << std::flush;
  termios old_mode{};
  const bool terminal = tcgetattr(STDIN_FILENO, &old_mode) == 0;
  if (terminal) {
    termios quiet = old_mode;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);  // keeps what was typed ahead
  }
  const bool got = static_cast<bool>(std::getline(std::cin, into));
  if (terminal) tcsetattr(STDIN_FILENO, TCSANOW, &old_mode);
  return got;
}

// The new password: standard input's first line when it is no terminal, else asked twice. False (after
// printing why) when none was given, the two differ or it is empty.
bool read_password(const std::string& name, Wiped& password) {
  if (!isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, password.text)) {
      std::cerr << "error: no password on standard input (its first line is the password)\n";
      return false;
    }
    if (!password.text.empty() && password.text.back() == '\r') password.text.pop_back();
  } else {
    Wiped again;
    if (!read_line_without_echo("Password for " + name + ": ", password.text) ||
        !read_line_without_echo("Again: ", again.text)) {
      std::cerr << "error: no password given\n";
      return false;
    }
    if (password.text != again.text) {
      std::cerr << "error: the two passwords differ; nothing changed\n";
      return false;
    }
  }
  if (password.text.empty()) {
    std::cerr << "error: an empty password is refused\n";
    return false;
  }
  return true;
}

// Reads a password and hashes it; nullopt (after printing why) when refused or hashing failed, with the
// exit code in `code`.
std::optional<std::string> new_password_hash(const std::string& name, int& code) {
  Wiped password;
  if (!read_password(name, password)) {
    code = exit_bad_input;
    return std::nullopt;
  }
  auto hash = hash_password(password.text);
  if (!hash) {
    std::cerr << "error: cannot hash the password (libsodium failed or is out of memory)\n";
    code = exit_failure;
  }
  return hash;
}

// The storage of the configuration and its agents, as every command starts. Nothing (and `code` says why)
// after printing what failed.
struct Opened {
  std::unique_ptr<ToolStorage> tool;
  std::vector<sdk::Agent> agents;

  std::optional<sdk::Agent> find(const std::string& name) const {
    for (const auto& a : agents)
      if (a.name == name) return a;
    return std::nullopt;
  }
  // The agent an existing-agent command names; prints the refusal when there is none.
  std::optional<sdk::Agent> existing(const std::string& name) const {
    auto agent = find(name);
    if (!agent) std::cerr << "error: no agent " << name << '\n';
    return agent;
  }
};

std::optional<Opened> open_agents(const AgentsOptions& o, int& code) {
  auto tool = open_tool_storage(o.config_file, o.plugin_dirs, o.storage, code);
  if (!tool) return std::nullopt;
  auto agents = tool->session->call<std::vector<sdk::Agent>>(
      [](sdk::Storage& s, auto done) { s.load_agents(std::move(done)); });
  if (!agents) {
    std::cerr << "error: cannot read the agents: " << agents.error().message << '\n';
    code = exit_failure;
    return std::nullopt;
  }
  return Opened{std::move(tool), std::move(agents.value())};
}

int save(ToolStorage& tool, sdk::Agent agent, const char* what) {
  auto saved = tool.session->call<sdk::Agent>([&](sdk::Storage& s, auto done) { s.save_agent(agent, std::move(done)); });
  if (!saved) {
    std::cerr << "error: cannot save agent " << agent.name << ": " << saved.error().message << '\n';
    return exit_failure;
  }
  std::cout << what << " agent " << agent.name << '\n';
  return exit_ok;
}

const char* role_name(sdk::AgentRole role) { return role == sdk::AgentRole::administrator ? "administrator" : "agent"; }
sdk::AgentRole role_from(const std::string& name) {
  return name == "administrator" ? sdk::AgentRole::administrator : sdk::AgentRole::agent;
}
bool logged_in(const sdk::Agent& a) { return a.start && !a.stop; }

}  // namespace

std::optional<std::string> hash_password(const std::string& password) {
  if (!sodium_ready()) return std::nullopt;
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return std::nullopt;
  return std::string(out);
}

bool verify_password(const std::string& hash, const std::string& password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || !sodium_ready()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

int agents_add(const AgentsOptions& o) {
  if (!o.extension) {
    std::cerr << "error: an agent needs --extension\n";
    return exit_bad_input;
  }
  if (!check_fields(o)) return exit_bad_input;
  int code = exit_ok;
  auto opened = open_agents(o, code);
  if (!opened) return code;
  if (opened->find(o.name)) {
    std::cerr << "error: agent " << o.name << " exists already; change it with `agents set` or `agents passwd`\n";
    return exit_failure;
  }
  sdk::Agent agent;
  agent.name = o.name;
  agent.extension = *o.extension;
  agent.role = role_from(o.role.value_or("agent"));
  agent.may_edit_central_list = o.central.value_or(false);
  agent.may_edit_own_list = o.own.value_or(false);
  agent.call_module = o.call_module.value_or(false);
  agent.group = o.group.value_or("");
  auto hash = new_password_hash(o.name, code);
  if (!hash) return code;
  agent.password_hash = std::move(*hash);
  return save(*opened->tool, std::move(agent), "added");
}

int agents_list(const AgentsOptions& o) {
  int code = exit_ok;
  auto opened = open_agents(o, code);
  if (!opened) return code;
  const auto* agents = &opened->agents;
  auto time = [](const std::optional<sdk::TimePoint>& at, bool iso) {
    return at ? (iso ? sdk::iso8601_local(*at) : sdk::seed_timestamp(*at)) : std::string();
  };
  if (o.json) {
    for (const auto& a : *agents) {
      nlohmann::json j{{"name", a.name},
                       {"extension", a.extension},
                       {"role", role_name(a.role)},
                       {"may_edit_central_list", a.may_edit_central_list},
                       {"may_edit_own_list", a.may_edit_own_list},
                       {"call_module", a.call_module},
                       {"group", a.group},
                       {"last_ip", a.last_ip},
                       {"logged_in", logged_in(a)}};
      j["start"] = a.start ? nlohmann::json(time(a.start, true)) : nlohmann::json(nullptr);
      j["stop"] = a.stop ? nlohmann::json(time(a.stop, true)) : nlohmann::json(nullptr);
      std::cout << j.dump() << '\n';
    }
    return exit_ok;
  }
  if (agents->empty()) {
    std::cout << "no agents\n";
    return exit_ok;
  }
  std::size_t width = 4;
  for (const auto& a : *agents) width = std::max(width, a.name.size());
  auto dash = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  constexpr const char* row = "{:<{}}  {:<9}  {:<13}  {:<7}  {:<3}  {:<11}  {:<5}  {:<15}  {:<19}  {:<19}  {}";
  auto print = [](std::string line) {
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << '\n';
  };
  print(fmt::format(row, "name", width, "extension", "role", "central", "own", "call module", "group", "last IP",
                    "start", "stop", ""));
  for (const auto& a : *agents)
    print(fmt::format(row, a.name, width, a.extension, role_name(a.role), yes(a.may_edit_central_list),
                      yes(a.may_edit_own_list), yes(a.call_module), dash(a.group), dash(a.last_ip),
                      dash(time(a.start, false)), dash(time(a.stop, false)), logged_in(a) ? "logged in" : ""));
  return exit_ok;
}

int agents_passwd(const AgentsOptions& o) {
  int code = exit_ok;
  auto opened = open_agents(o, code);
  if (!opened) return code;
  auto agent = opened->existing(o.name);
  if (!agent) return exit_failure;
  auto hash = new_password_hash(o.name, code);
  if (!hash) return code;
  agent->password_hash = std::move(*hash);
  return save(*opened->tool, std::move(*agent), "changed the password of");
}

int agents_set(const AgentsOptions& o) {
  if (!o.extension && !o.role && !o.central && !o.own && !o.call_module && !o.group) {
    std::cerr << "error: nothing to change; give --extension, --role, --central, --own, --call-module or --group\n";
    return exit_bad_input;
  }
  if (!check_fields(o)) return exit_bad_input;
  int code = exit_ok;
  auto opened = open_agents(o, code);
  if (!opened) return code;
  auto agent = opened->existing(o.name);
  if (!agent) return exit_failure;
  if (o.extension) agent->extension = *o.extension;
  if (o.role) agent->role = role_from(*o.role);
  if (o.central) agent->may_edit_central_list = *o.central;
  if (o.own) agent->may_edit_own_list = *o.own;
  if (o.call_module) agent->call_module = *o.call_module;
  if (o.group) agent->group = *o.group;
  return save(*opened->tool, std::move(*agent), "changed");
}

int agents_remove(const AgentsOptions& o) {
  int code = exit_ok;
  auto opened = open_agents(o, code);
  if (!opened) return code;
  if (!opened->existing(o.name)) return exit_failure;
  auto removed = opened->tool->session->call_status(
      [&](sdk::Storage& s, auto done) { s.remove_agent(o.name, std::move(done)); });
  if (!removed) {
    std::cerr << "error: cannot remove agent " << o.name << ": " << removed.error().message << '\n';
    return exit_failure;
  }
  std::cout << "removed agent " << o.name << '\n';
  return exit_ok;
}

}  // namespace switchboard::core
