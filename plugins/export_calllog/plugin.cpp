#include "exporters.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.export-calllog", SWITCHBOARD_VERSION, "Switchboard",
                   "Exporters: the call log as the original's log file, CSV or JSON Lines.",
                   switchboard::plugins::export_calllog::register_export_calllog)
