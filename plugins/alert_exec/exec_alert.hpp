// Alert action `exec`: runs a command for each alert, the alert in SWITCHBOARD_ALERT_* environment variables.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace switchboard::plugins {

// After SIGTERM, how long a command may take to end before SIGKILL.
inline constexpr std::chrono::milliseconds exec_kill_grace{2000};

class ExecAlert final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  ExecAlert(sdk::Context& context, const sdk::Settings& settings);
  ~ExecAlert() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;
  void fire(const sdk::Alert& alert, sdk::Completion done) override;

  // The variables fire() adds to the host's environment for `alert`, in the order it adds them.
  static std::vector<std::pair<std::string, std::string>> alert_variables(const sdk::Alert& alert,
                                                                         const std::string& instance);

 private:
  struct Run {
    std::shared_ptr<ChildProcess> child;
    sdk::Completion done;
    std::string rule;
  };

  std::vector<std::string> environment_for(const sdk::Alert& alert) const;
  void finish(std::uint64_t run_id, const ProcessOutcome& outcome);

  sdk::Context& context_;
  std::vector<std::string> command_;
  std::chrono::milliseconds timeout_;
  std::vector<std::pair<std::string, std::string>> extra_environment_;
  bool running_ = false;
  std::uint64_t next_run_id_ = 0;
  std::map<std::uint64_t, Run> runs_;
  // Results come back from the blocking pool after the wait; this tells them whether the instance still exists.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

void register_exec_alert(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
