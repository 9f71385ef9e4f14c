#include "sim_driver.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.driver-sim", SWITCHBOARD_VERSION, "Switchboard", "PBX driver: a simulated PBX.",
                   switchboard::drivers::register_sim_driver)
