#include "file_alert.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("example.alert-file", "1.0.0", "Example Vendor", "Alert action: appends each alert to a file.",
                   example::register_file_alert)
