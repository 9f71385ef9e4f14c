// Alert action `log`: writes each alert to the host log.
#pragma once

#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace switchboard::plugins {

class LogAlert final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema();
  LogAlert(sdk::Context& context, const sdk::Settings& settings);

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;
  void fire(const sdk::Alert& alert, sdk::Completion done) override;

 private:
  sdk::LogLevel level_for(sdk::Severity severity) const;

  sdk::Context& context_;
  std::string level_;     // "auto" or a fixed level
  std::string prefix_;
  bool running_ = false;
};

void register_log_alert(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
