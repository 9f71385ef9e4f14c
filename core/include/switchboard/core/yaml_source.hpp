// Reads a YAML file into the SDK's ConfigNode tree: positions kept, ${ENV} substituted. The only place
// yaml-cpp is used; plugins never see it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "switchboard/sdk/config.hpp"

namespace switchboard::core {

// Looks up an environment variable; replaceable in tests.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvironmentLookup process_environment();

// Parses `text` (named `file` in messages). Syntax errors, duplicate keys and missing ${VARS} go to diag.
sdk::ConfigNode parse_yaml(const std::string& text, const std::string& file, sdk::Diagnostics& diag,
                           const EnvironmentLookup& env = process_environment());

// Reads and parses a file; a file that cannot be read is one diagnostic.
sdk::ConfigNode load_yaml_file(const std::string& path, sdk::Diagnostics& diag,
                               const EnvironmentLookup& env = process_environment());

}  // namespace switchboard::core
