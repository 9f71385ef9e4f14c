// The plugin descriptor and the one macro that exports it.
//
//   // plugin.cpp — the descriptor line and nothing else
//   #include "my_alert.hpp"
//   SWITCHBOARD_PLUGIN("acme.sms-alert", "1.2.0", "ACME", "Sends alerts as SMS.", acme::register_factories)
//
// The macro fills the ABI fields from the SDK headers the plugin is compiled with and exports the
// descriptor under the Boost.DLL alias `switchboard_plugin_abi_v<MAJOR>`, so the host can tell a wrong
// ABI major from the library's symbol table without running any of its code.
#pragma once

#include <cstdint>

#include <boost/dll/alias.hpp>
#include <boost/preprocessor/cat.hpp>

#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/version.hpp"

namespace switchboard::sdk {

// Plain C fields first (they are read before anything else is trusted).
struct PluginDescriptor {
  std::uint32_t struct_size;
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  const char* build_tag;
  const char* id;           // identity: "switchboard.alert-log"; never derived from the file name
  const char* version;      // the plugin's own version
  const char* vendor;
  const char* description;  // one line
  void (*register_factories)(Registrar&);
};

using PluginEntry = const PluginDescriptor*();

}  // namespace switchboard::sdk

#define SWITCHBOARD_PLUGIN_ALIAS_PREFIX "switchboard_plugin_abi_v"

// For the SDK's own tests of the loader; plugins use SWITCHBOARD_PLUGIN.
#define SWITCHBOARD_DETAIL_PLUGIN(MAJOR, MINOR, TAG, ID, VERSION, VENDOR, DESCRIPTION, REGISTER)                    \
  namespace {                                                                                                    \
  const ::switchboard::sdk::PluginDescriptor* switchboard_plugin_descriptor() {                                  \
    static const ::switchboard::sdk::PluginDescriptor descriptor{sizeof(::switchboard::sdk::PluginDescriptor),  \
                                                                 MAJOR, MINOR, TAG, ID, VERSION, VENDOR,         \
                                                                 DESCRIPTION, &(REGISTER)};                      \
    return &descriptor;                                                                                          \
  }                                                                                                              \
  }                                                                                                              \
  BOOST_DLL_ALIAS(switchboard_plugin_descriptor, BOOST_PP_CAT(switchboard_plugin_abi_v, MAJOR))

// Exports the plugin's descriptor. Use once per plugin, at global scope.
#define SWITCHBOARD_PLUGIN(ID, VERSION, VENDOR, DESCRIPTION, REGISTER)                                           \
  SWITCHBOARD_DETAIL_PLUGIN(SWITCHBOARD_SDK_ABI_MAJOR, SWITCHBOARD_SDK_ABI_MINOR, SWITCHBOARD_SDK_BUILD_TAG, ID,  \
                            VERSION, VENDOR, DESCRIPTION, REGISTER)
