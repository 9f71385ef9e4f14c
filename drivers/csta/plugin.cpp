#include "csta_driver.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.driver-csta", SWITCHBOARD_VERSION, "Switchboard",
                   "PBX driver: CSTA XML (ECMA-323) over TCP.", switchboard::drivers::csta_driver::register_csta_driver)
