// Routing strategy `project_rules`: the original's category routing (seed 1.1 and 2.1). A call to a project
// number goes to the operators of the caller's rule in that project, then to the busy target, the
// project's operators and the operators for all projects; each target carries the outcome code the call
// log records if the call is answered there. docs/routing.md describes the steps and the codes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/hunt_groups.hpp"
#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/routing.hpp"

namespace switchboard::plugins {

class ProjectRulesStrategy final : public sdk::RoutingStrategy, public sdk::CallPolicies {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  ProjectRulesStrategy(sdk::Context& context, const sdk::Settings& settings);

  // Nothing to open or close: the configuration is the whole state, and the rules live in the core's index.
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }

  std::vector<std::string> numbers() const override { return numbers_; }
  std::vector<std::string> devices() const override { return devices_; }
  // Runs on the engine's strand only: it reuses the scratch buffers below.
  sdk::RoutingDecision decide(const sdk::RoutingRequest& request, const sdk::DeviceView& devices) override;
  std::optional<sdk::UnansweredPolicy> unanswered(std::string_view number) const override;

 private:
  struct Project {
    std::string number;
    std::vector<std::string> operators;
    std::optional<sdk::UnansweredPolicy> unanswered;
    // Made once at construction rather than per call (decide() formats nothing it can know in advance):
    std::vector<std::uint64_t> operator_keys;  // extension_key() of each operator
    std::string operator_reason;               // "operator of project 100"
    std::string no_operators_line;             // "no operators for project 100"
  };

  class Targets;  // builds the decision's target list (project_rules.cpp)

  const Project* project_numbered(std::string_view number) const;
  void route_by_rules(const sdk::RoutingRequest& request, const Project* project, sdk::RoutingDecision& decision,
                      Targets& targets);

  std::vector<Project> projects_;
  std::vector<std::string> all_projects_operators_;
  std::string busy_target_;  // may be set while inactive: the trail then names it
  bool busy_target_active_ = false;
  std::chrono::milliseconds ring_timeout_;
  std::vector<std::uint64_t> all_projects_keys_;  // extension_key() of each of all_projects_operators_
  std::uint64_t busy_target_key_ = 0;
  std::string busy_target_not_active_line_;  // "busy target 190 not active"
  // Scratch for decide(), kept between calls so that their capacity is reused (decide() runs on one strand).
  std::vector<std::uint64_t> offered_keys_;  // extension_key() of each target offered so far, in order
  std::string rule_reason_;                  // "operator of rule 12"
  // Fixed at construction and never written again: the host and the driver may read them from another
  // strand than the one decide() runs on.
  std::vector<std::string> numbers_;
  std::vector<std::string> devices_;
};

void register_project_rules(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
