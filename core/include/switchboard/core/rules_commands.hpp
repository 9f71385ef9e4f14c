// `switchboard rules import|export`: the seed's Import/Export of project rules and their history.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace switchboard::core {

struct RulesImportOptions {
  std::string config_file;
  std::string rules_file;
  std::string history_file;  // optional
  std::string encoding = "utf-8";
  std::optional<std::string> project;
  std::string storage;  // instance name; empty: the only one
  bool replace = false;
  bool dry_run = false;
  std::vector<std::string> plugin_dirs;
};

struct RulesExportOptions {
  std::string config_file;
  std::string output;  // empty or "-": standard output
  std::string history_file;
  std::string encoding = "utf-8";
  std::optional<std::string> project;
  std::string storage;
  std::vector<std::string> plugin_dirs;
};

// Exit codes: 0 done, 1 the database failed, 2 bad configuration or bad file (nothing written).
int rules_import(const RulesImportOptions& options);
int rules_export(const RulesExportOptions& options);

}  // namespace switchboard::core
