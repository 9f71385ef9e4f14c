// Human documentation generated from the declared schemas: `config reference` (Markdown, committed as
// docs/config-reference.md) and `plugins describe` (a key table for the terminal).
#pragma once

#include <ostream>

#include "switchboard/core/plugin_registry.hpp"

namespace switchboard::core {

void write_config_reference(const PluginRegistry& registry, std::ostream& out);
void describe_factory(const RegisteredFactory& factory, std::ostream& out);

}  // namespace switchboard::core
