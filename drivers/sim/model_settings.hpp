// The PBX model's traffic keys, declared once for every user of the model: the `sim` driver's config and
// switchboard-pbxsim's scenario (`calls:`) read the same names, units, defaults and checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pbx_model.hpp"
#include "switchboard/sdk/config.hpp"

namespace switchboard::sim {

// seed, speed, calls_per_minute, max_calls, known_callers, withheld_callers, answer_probability,
// answer_delay_min/max, talk_time_min/max, abandon_min/max, offline_operators, dials.
void add_model_keys(sdk::ConfigSchema& schema);
PbxModelSettings model_settings(const sdk::Settings& settings);

// One entry of a `hunt_groups:` list ({number, members}), declared here so the sim driver's config and
// pbxsim's scenario read hunt groups alike. The list itself is theirs: it is about devices, not traffic.
struct HuntGroupSpec {
  std::string number;
  std::vector<std::string> members;
  std::string group;  // the group set_agent_state / SetAgentState names for it; empty: `number`
};
sdk::TypeSpec hunt_groups_type();
std::vector<HuntGroupSpec> hunt_groups(const sdk::Settings& settings, std::string_view key);
// The hunt group numbers an agent-state request for `group` changes: those named `group` or following it.
std::vector<std::string> hunt_groups_following(const std::vector<HuntGroupSpec>& groups, const std::string& group);
// Group numbers given once and not twice as a member of the same group.
void check_hunt_groups(const sdk::Settings& settings, std::string_view key, sdk::Diagnostics& diag);
// What the key types cannot say: speed > 0, shares that add up to at most 1, each min ≤ its max.
void check_model_settings(const sdk::Settings& settings, sdk::Diagnostics& diag);

}  // namespace switchboard::sim
