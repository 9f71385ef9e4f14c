// Command-line tools for SA groups and unanswered calls: `groups status|login|logout` (through the running
// host's control socket) and `missed list` (from storage).
#pragma once

#include <string>
#include <vector>

namespace switchboard::core {

struct GroupsOptions {
  std::string config_file;
  std::string action;     // status, login, logout
  std::string extension;  // login, logout
  std::vector<std::string> plugin_dirs;
};

struct MissedListOptions {
  std::string config_file;
  std::string agent;  // empty: every agent's
  std::string storage;
  bool json = false;
  std::vector<std::string> plugin_dirs;
};

// Exit codes: 0 done, 1 refused or no running host, 2 bad configuration or arguments.
int groups_command(const GroupsOptions& options);
int missed_list(const MissedListOptions& options);

}  // namespace switchboard::core
