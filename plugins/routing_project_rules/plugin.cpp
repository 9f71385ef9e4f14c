#include "project_rules.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.routing-project-rules", SWITCHBOARD_VERSION, "Switchboard",
                   "Routing strategy: category routing by project rules.", switchboard::plugins::register_project_rules)
