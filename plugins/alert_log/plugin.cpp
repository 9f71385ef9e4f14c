#include "log_alert.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.alert-log", SWITCHBOARD_VERSION, "Switchboard", "Alert action: the host log.",
                   switchboard::plugins::register_log_alert)
