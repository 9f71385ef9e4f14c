#include "switchboard/core/logging.hpp"

#include <fnmatch.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace switchboard::core {
namespace {

constexpr const char* pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %n: %v";

class SdkLogger final : public sdk::Logger {
 public:
  explicit SdkLogger(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  bool enabled(sdk::LogLevel level) const noexcept override { return logger_->should_log(convert(level)); }
  void write(sdk::LogLevel level, std::string_view message) override { logger_->log(convert(level), message); }
  std::string_view name() const noexcept override { return logger_->name(); }

 private:
  static spdlog::level::level_enum convert(sdk::LogLevel l) {
    return static_cast<spdlog::level::level_enum>(static_cast<int>(l));  // same order by design
  }
  std::shared_ptr<spdlog::logger> logger_;
};

static_assert(static_cast<int>(sdk::LogLevel::trace) == spdlog::level::trace);
static_assert(static_cast<int>(sdk::LogLevel::off) == spdlog::level::off);

std::optional<spdlog::level::level_enum> level_from_name(const std::string& name) {
  auto l = spdlog::level::from_str(name);
  if (l == spdlog::level::off && name != "off") return std::nullopt;
  return l;
}

}  // namespace

bool parse_level_rules(const std::string& text, std::vector<LevelRule>& rules,
                       std::optional<spdlog::level::level_enum>& default_level, std::string& error) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string name = eq == std::string::npos ? std::string{} : item.substr(0, eq);
    std::string level = eq == std::string::npos ? item : item.substr(eq + 1);
    auto l = level_from_name(level);
    if (!l || (eq != std::string::npos && name.empty())) {
      error = "'" + item + "' (expected LOGGER=LEVEL or LEVEL; levels: trace, debug, info, warn, error, critical, off)";
      return false;
    }
    if (name.empty()) default_level = *l;
    else rules.push_back({name, *l});
  }
  return true;
}

LogSetup::LogSetup() {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(spdlog::color_mode::automatic);
  console->set_pattern(pattern);
  sinks_.push_back(console);
}

void LogSetup::configure(const sdk::Settings& logging, bool tool) {
  std::string env_error;
  {
  std::lock_guard lock(mutex_);
  default_level_ = *level_from_name(logging.string("level"));
  rules_.clear();
  if (tool) default_level_ = std::max(default_level_, spdlog::level::warn);
  else
    for (const auto& [name, value] : logging.entries("levels")) rules_.push_back({name, *level_from_name(value.text)});
  if (auto* console = dynamic_cast<spdlog::sinks::stderr_color_sink_mt*>(sinks_.front().get())) {
    const std::string& color = logging.string("color");
    console->set_color_mode(color == "always"  ? spdlog::color_mode::always
                            : color == "never" ? spdlog::color_mode::never
                                               : spdlog::color_mode::automatic);
  }
  if (logging.has("file")) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(logging.string("file"), false);
    file->set_pattern(pattern);
    sinks_.push_back(file);
    for (auto& [_, l] : loggers_) l->sinks().push_back(file);
  }
  if (const char* env = std::getenv("SWITCHBOARD_LOG")) {
    std::optional<spdlog::level::level_enum> env_default;
    std::vector<LevelRule> env_rules;
    if (parse_level_rules(env, env_rules, env_default, env_error)) {
      rules_.insert(rules_.end(), env_rules.begin(), env_rules.end());
      if (env_default) default_level_ = *env_default;
    }
  }
  apply_levels();
  }
  // A bad SWITCHBOARD_LOG leaves the config's levels in force.
  if (!env_error.empty()) get("host")->warn("SWITCHBOARD_LOG ignored: bad item {}", env_error);
}

void LogSetup::add_sink(spdlog::sink_ptr sink) {
  std::lock_guard lock(mutex_);
  sink->set_pattern(pattern);
  sinks_.push_back(sink);
  for (auto& [_, l] : loggers_) l->sinks().push_back(sink);
}

spdlog::level::level_enum LogSetup::level_for(const std::string& name) const {
  auto level = default_level_;
  for (const auto& r : rules_)
    if (fnmatch(r.pattern.c_str(), name.c_str(), 0) == 0) level = r.level;
  return level;
}

void LogSetup::apply_levels() {
  for (auto& [name, l] : loggers_) l->set_level(level_for(name));
}

std::shared_ptr<spdlog::logger> LogSetup::get(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = loggers_.find(name);
  if (it != loggers_.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(name, sinks_.begin(), sinks_.end());
  logger->set_level(level_for(name));
  logger->flush_on(spdlog::level::warn);
  loggers_.emplace(name, logger);
  return logger;
}

sdk::Logger& LogSetup::sdk_logger(const std::string& name) {
  auto logger = get(name);
  std::lock_guard lock(mutex_);
  auto& slot = sdk_loggers_[name];
  if (!slot) slot = std::make_unique<SdkLogger>(logger);
  return *slot;
}

void LogSetup::flush() {
  std::lock_guard lock(mutex_);
  for (auto& [_, l] : loggers_) l->flush();
}

}  // namespace switchboard::core
