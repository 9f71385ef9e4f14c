// Test plugin: a descriptor the host must refuse (build_tag_other).
#include "switchboard/sdk/plugin.hpp"

namespace {
void register_nothing(switchboard::sdk::Registrar&) {}
}  // namespace

SWITCHBOARD_DETAIL_PLUGIN(SWITCHBOARD_SDK_ABI_MAJOR, SWITCHBOARD_SDK_ABI_MINOR, "gcc-4;libstdc++-4;cxx-201103;boost-105500;fmt-50000", "test.build_tag_other", "1.0.0", "Switchboard tests", "Refused.",
                          register_nothing)
