// PBX driver `sim`: a simulated PBX (pbx_model.hpp) behind the PbxDriver contract, for demos, tests and
// what-if runs. All of its time goes through the Context's clock and call_after, so the host runs it in
// real time or in virtual time by swapping the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model_settings.hpp"
#include "pbx_model.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/driver.hpp"
#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::drivers {

// The model's scheduler on a Context: call_after and clock().now(), nothing else.
class ContextScheduler final : public sim::Scheduler {
 public:
  explicit ContextScheduler(sdk::Context& context) : context_(context) {}
  std::unique_ptr<sim::ScheduledTask> schedule(sim::Duration delay, std::function<void()> task) override;
  sdk::TimePoint now() const override { return context_.clock().now(); }

 private:
  sdk::Context& context_;
};

class SimDriver final : public sdk::PbxDriver {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  SimDriver(sdk::Context& context, const sdk::Settings& settings);

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;

  sdk::DriverCapabilities capabilities() const override;
  void monitor(std::vector<std::string> devices, sdk::Completion done) override;
  void deflect(sdk::CallRef call, std::string destination, sdk::Completion done) override;
  void transfer(sdk::CallRef call, std::string destination, sdk::Completion done) override;
  void clear(sdk::CallRef call, sdk::Completion done) override;
  void snapshot(std::string device, sdk::ResultCallback<sdk::DeviceSnapshot> done) override;
  void set_agent_state(std::string device, std::string group, sdk::AgentState state, sdk::Completion done) override;

 private:
  enum class State { stopped, starting, running };

  void load_known_callers(sdk::InstanceRef storage, std::uint64_t attempt);
  void on_rules(std::uint64_t attempt, sdk::Result<std::vector<sdk::Rule>> rules);
  void finish_start(std::vector<sim::KnownCaller> known_callers);
  void fail_start(sdk::Error error);
  std::vector<std::string> resolve_projects() const;
  void publish(const sim::PbxModel::EventMaker& make);
  void log_event(const sdk::Event& event);
  bool refuse_unless_running(const sdk::Completion& done, const char* request);

  sdk::Context& context_;
  std::vector<sim::HuntGroupSpec> hunt_groups_;
  std::optional<std::vector<std::string>> configured_projects_;  // nothing: ask the routing strategies
  std::string storage_name_;  // empty: the only storage instance, if there is exactly one
  std::uint64_t seed_;
  double speed_;
  ContextScheduler scheduler_;  // declared before the model, which schedules through it
  sim::PbxModel model_;

  State state_ = State::stopped;
  std::vector<sdk::Completion> waiting_starts_;  // start() calls answered when the storage has answered
  std::uint64_t start_attempt_ = 0;              // a storage answer for an abandoned start is ignored
  std::vector<std::string> monitored_;           // in the order first asked for
  std::set<std::string> monitored_set_;
};

void register_sim_driver(sdk::Registrar& registrar);

}  // namespace switchboard::drivers
