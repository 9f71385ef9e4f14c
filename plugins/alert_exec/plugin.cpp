#include "exec_alert.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.alert-exec", SWITCHBOARD_VERSION, "Switchboard", "Alert action: run a command.",
                   switchboard::plugins::register_exec_alert)
