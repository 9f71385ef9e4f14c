// The host's process log: the only place spdlog is configured. Each instance gets its own named logger
// ("driver.hicom-main") behind the SDK's Logger interface, at the level the rules give its name.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/logger.hpp"

namespace switchboard::core {

struct LevelRule {
  std::string pattern;  // logger name or glob ("driver.*")
  spdlog::level::level_enum level;
};

// Parses SWITCHBOARD_LOG: "driver.*=trace,routing.sales=debug,info" (a bare level sets the default).
// Returns false and names the bad item in `error` when the text is malformed.
bool parse_level_rules(const std::string& text, std::vector<LevelRule>& rules,
                       std::optional<spdlog::level::level_enum>& default_level, std::string& error);

class LogSetup {
 public:
  // Logs to stderr until configure() is called.
  LogSetup();
  // Applies the `logging:` section, then SWITCHBOARD_LOG. Existing loggers get their new levels.
  // A command-line tool (`tool`) logs warnings and errors only, unless SWITCHBOARD_LOG asks for more:
  // its output is its answer, not the lifecycle of the instances it borrows.
  void configure(const sdk::Settings& logging, bool tool = false);
  // Adds a sink (tests capture the log with it).
  void add_sink(spdlog::sink_ptr sink);

  std::shared_ptr<spdlog::logger> get(const std::string& name);
  // The SDK view of a named logger, owned by this setup.
  sdk::Logger& sdk_logger(const std::string& name);
  spdlog::level::level_enum level_for(const std::string& name) const;
  void flush();

 private:
  void apply_levels();

  mutable std::mutex mutex_;
  std::vector<spdlog::sink_ptr> sinks_;
  spdlog::level::level_enum default_level_ = spdlog::level::info;
  std::vector<LevelRule> rules_;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers_;
  std::unordered_map<std::string, std::unique_ptr<sdk::Logger>> sdk_loggers_;
};

}  // namespace switchboard::core
