// Test plugin: a descriptor the host must refuse (abi_major_99).
#include "switchboard/sdk/plugin.hpp"

namespace {
void register_nothing(switchboard::sdk::Registrar&) {}
}  // namespace

SWITCHBOARD_DETAIL_PLUGIN(99, SWITCHBOARD_SDK_ABI_MINOR, SWITCHBOARD_SDK_BUILD_TAG, "test.abi_major_99", "1.0.0", "Switchboard tests", "Refused.",
                          register_nothing)
