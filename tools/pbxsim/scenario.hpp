// The scenario file of switchboard-pbxsim: which devices exist, who calls, how the session and the link
// supervision behave, and the PBX model's traffic settings (the same keys as the `sim` driver's).
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "model_settings.hpp"
#include "pbx_model.hpp"
#include "switchboard/sdk/config.hpp"

namespace switchboard::pbxsim {

// ECMA-354 application session. Empty credentials are not checked.
struct SessionSettings {
  bool required = false;  // requests before a successful StartApplicationSession are refused
  std::string application_id;
  std::string user;
  std::string password;
};

struct Scenario {
  std::vector<std::string> projects;    // numbers calls arrive on
  std::vector<std::string> extensions;  // operator extensions; no other device exists
  std::vector<sim::HuntGroupSpec> hunt_groups;  // ring-all groups of extensions
  std::vector<sim::KnownCaller> callers;
  SessionSettings session;
  std::chrono::milliseconds status_interval{30'000};  // pbxsim's own SystemStatus polls; 0: never
  int status_misses = 2;                              // unanswered polls before the client is dropped
  sim::PbxModelSettings calls;
};

// Every key with its type, default and doc (also what `--help` and the README describe).
sdk::ConfigSchema scenario_schema();

// Parses and checks a scenario; every problem goes to `diag` with FILE:LINE:COL. Nothing when any is found.
std::optional<Scenario> parse_scenario(const std::string& yaml_text, const std::string& file, sdk::Diagnostics& diag);
std::optional<Scenario> load_scenario(const std::string& path, sdk::Diagnostics& diag);

// "FILE:LINE:COL: error: PATH: MESSAGE", one line each, in file order, then "N errors in FILE".
void print_diagnostics(const sdk::Diagnostics& diag, const std::string& file, std::ostream& out);

}  // namespace switchboard::pbxsim
