// The named logger the host hands each instance ("driver.hicom-main"). The host owns sinks, pattern and
// levels; a plugin only writes. Style: lower case, event first, then key=value
// ("link up host=127.0.0.1 port=1040"); fixed keys call=, device=, agent=. ERROR: a person must act.
// WARN: degraded, self-healing. INFO: lifecycle only. DEBUG: per call. TRACE: wire level. Never log secrets.
#pragma once

#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace switchboard::sdk {

enum class LogLevel { trace, debug, info, warn, error, critical, off };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(LogLevel level) const noexcept = 0;
  virtual void write(LogLevel level, std::string_view message) = 0;
  virtual std::string_view name() const noexcept = 0;

  // Formatting happens only when the level is enabled, so DEBUG lines cost nothing in production.
  template <class... Args>
  void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(level)) write(level, fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void trace(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::trace, f, std::forward<Args>(a)...); }
  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::debug, f, std::forward<Args>(a)...); }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::info, f, std::forward<Args>(a)...); }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::warn, f, std::forward<Args>(a)...); }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... a) { log(LogLevel::error, f, std::forward<Args>(a)...); }
};

}  // namespace switchboard::sdk
