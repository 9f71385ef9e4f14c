#include "sa_group.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.routing-sa-group", SWITCHBOARD_VERSION, "Switchboard",
                   "Routing strategy: SA (hunt) groups with joining members, a queue and overflow.",
                   switchboard::plugins::register_sa_group)
