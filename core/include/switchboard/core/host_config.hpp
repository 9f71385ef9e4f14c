// The whole configuration file: the host's own sections and every configured instance, validated at once.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "switchboard/core/plugin_registry.hpp"
#include "switchboard/core/yaml_source.hpp"
#include "switchboard/sdk/config.hpp"

namespace switchboard::core {

// The host's sections (version, plugins, runtime, logging), declared like any factory's keys.
const sdk::ConfigSchema& host_schema();

struct InstanceConfig {
  sdk::Category category;
  std::string name;  // the YAML key: "hicom-main"
  std::string type;
  const RegisteredFactory* factory = nullptr;
  sdk::Settings settings;
  sdk::SourcePosition position;
};

struct HostConfig {
  std::string file;
  sdk::Settings host;  // version, plugins, runtime, logging
  std::vector<InstanceConfig> instances;
};

// The plugin directories a config asks for (plugins.paths, relative to the config file's folder), read
// before full validation because the instances' factories come from them.
std::vector<std::string> plugin_paths(const sdk::ConfigNode& root, const std::string& config_file);

// Validates everything: host sections, each instance's type and config, references between instances,
// then each factory's own semantic checks. Every problem goes to `diag`; the config is returned only when
// there is none.
std::optional<HostConfig> validate_config(const sdk::ConfigNode& root, const std::string& file,
                                          const PluginRegistry& registry, sdk::Diagnostics& diag);

// A configuration with the plugins its factories live in: the registry outlives the config pointing into it.
struct LoadedConfig {
  PluginRegistry registry;
  std::optional<HostConfig> config;
};

// Reads `file`, loads the plugins it needs (default directories, plugins.paths, then `extra_dirs`) and
// validates it. Every problem is printed to `errors` with a count line; nothing is returned then.
std::optional<HostConfig> load_config_file(const std::string& file, PluginRegistry& registry,
                                           const std::vector<std::string>& extra_dirs, std::ostream& errors,
                                           bool print_refusals);

// One line per problem, sorted by position: FILE:LINE:COL: error: yaml.path: message
void print_diagnostics(const sdk::Diagnostics& diag, std::ostream& out);

// The effective configuration (defaults filled in) as YAML, secrets redacted.
void print_effective_config(const HostConfig& config, std::ostream& out);

}  // namespace switchboard::core
