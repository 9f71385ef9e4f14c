#include "webhook_alert.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.alert-webhook", SWITCHBOARD_VERSION, "Switchboard", "Alert action: HTTP POST of JSON.",
                   switchboard::plugins::register_webhook_alert)
