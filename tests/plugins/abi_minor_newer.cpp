// Test plugin: a descriptor the host must refuse (abi_minor_newer).
#include "switchboard/sdk/plugin.hpp"

namespace {
void register_nothing(switchboard::sdk::Registrar&) {}
}  // namespace

SWITCHBOARD_DETAIL_PLUGIN(SWITCHBOARD_SDK_ABI_MAJOR, 99, SWITCHBOARD_SDK_BUILD_TAG, "test.abi_minor_newer", "1.0.0", "Switchboard tests", "Refused.",
                          register_nothing)
