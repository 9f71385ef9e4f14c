// Test plugin "test.scripted": the scripted PBX driver (scripted_driver.hpp).
#include "scripted_driver.hpp"

namespace {
void register_factories(switchboard::sdk::Registrar& r) {
  r.add<scripted::ScriptedDriver>("scripted", "A PBX whose events the test dictates.");
}
}  // namespace

SWITCHBOARD_PLUGIN("test.scripted", "1.0.0", "Switchboard tests", "Scripted PBX.", register_factories)
