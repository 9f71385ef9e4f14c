// The PBX model's traffic keys, declared once for every user of the model: the `sim` driver's config and
// switchboard-pbxsim's scenario (`calls:`) read the same names, units, defaults and checks.
#pragma once

#include "pbx_model.hpp"
#include "switchboard/sdk/config.hpp"

namespace switchboard::sim {

// seed, speed, calls_per_minute, max_calls, known_callers, withheld_callers, answer_probability,
// answer_delay_min/max, talk_time_min/max, abandon_min/max, offline_operators.
void add_model_keys(sdk::ConfigSchema& schema);
PbxModelSettings model_settings(const sdk::Settings& settings);
// What the key types cannot say: speed > 0, shares that add up to at most 1, each min ≤ its max.
void check_model_settings(const sdk::Settings& settings, sdk::Diagnostics& diag);

}  // namespace switchboard::sim
