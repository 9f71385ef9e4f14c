#include "log_alert.hpp"

namespace switchboard::plugins {

sdk::ConfigSchema LogAlert::schema() {
  sdk::ConfigSchema s;
  s.add("level", sdk::TypeSpec::enum_of({"auto", "info", "warn", "error"}))
      .default_value("auto")
      .doc("Log level of alert lines. `auto` follows the severity: info → info, warning → warn, critical → error; "
           "a resolved alert is logged at info.");
  s.add("prefix", sdk::ValueType::string).default_value("alert")
      .doc("First word of every line, so log searches find alerts (`alert fired rule=...`).");
  return s;
}

LogAlert::LogAlert(sdk::Context& context, const sdk::Settings& settings)
    : context_(context), level_(settings.string("level")), prefix_(settings.string("prefix")) {}

void LogAlert::start(sdk::Completion done) {
  running_ = true;
  done({});
}

void LogAlert::stop(sdk::Completion done) {
  running_ = false;
  done({});
}

sdk::LogLevel LogAlert::level_for(sdk::Severity severity) const {
  if (level_ == "info") return sdk::LogLevel::info;
  if (level_ == "warn") return sdk::LogLevel::warn;
  if (level_ == "error") return sdk::LogLevel::error;
  switch (severity) {
    case sdk::Severity::info: return sdk::LogLevel::info;
    case sdk::Severity::warning: return sdk::LogLevel::warn;
    case sdk::Severity::critical: return sdk::LogLevel::error;
  }
  return sdk::LogLevel::warn;
}

void LogAlert::fire(const sdk::Alert& alert, sdk::Completion done) {
  if (!running_) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "alert action is not started"));
    return;
  }
  std::string labels;
  for (const auto& [k, v] : alert.labels) labels += fmt::format(" {}={}", k, v.find(' ') == std::string::npos ? v : '"' + v + '"');
  auto level = alert.resolved ? sdk::LogLevel::info : level_for(alert.severity);
  context_.logger().log(level, "{} {} rule={} severity={} key={} summary=\"{}\"{}", prefix_,
                        alert.resolved ? "resolved" : "fired", alert.rule, sdk::to_string(alert.severity),
                        alert.dedup_key, alert.summary, labels);
  done({});
}

void register_log_alert(sdk::Registrar& registrar) {
  registrar.add<LogAlert>("log", "Writes each alert to the host log, at a level that follows its severity.");
}

}  // namespace switchboard::plugins
