// Command-line tools around the call engine: `route explain`, `simulate`, `calllog export`.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace switchboard::core {

struct RouteExplainOptions {
  std::string config_file;
  std::string project;
  std::string caller;   // empty: withheld
  std::string busy;     // extensions, comma-separated
  std::string offline;
  bool json = false;
  std::vector<std::string> plugin_dirs;
};

struct SimulateOptions {
  std::string config_file;
  std::size_t calls = 100;
  std::optional<std::int64_t> seed;
  std::optional<double> rate;  // calls per minute
  std::string start = "2026-01-05 09:00:00";  // virtual start, local time
  std::vector<std::string> plugin_dirs;
};

struct CallLogExportOptions {
  std::string config_file;
  std::string output;
  bool clear = false;
  std::string encoding = "utf-8";
  std::string storage;
  std::vector<std::string> plugin_dirs;
};

// Exit codes: 0 done, 1 a part failed, 2 bad configuration or arguments.
int route_explain(const RouteExplainOptions& options);
int simulate(const SimulateOptions& options);
int calllog_export(const CallLogExportOptions& options);

}  // namespace switchboard::core
