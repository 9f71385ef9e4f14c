// The first-party plugins and the test plugins, loaded once per test executable: the registry the
// integration tests validate their configurations against (real libraries, as the host loads them).
#pragma once

#include "switchboard/core/plugin_registry.hpp"

inline switchboard::core::PluginRegistry& registry() {
  static switchboard::core::PluginRegistry r;
  static bool loaded = false;
  if (!loaded) {
    r.load_directory(SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY);
    r.load_directory(SWITCHBOARD_TEST_PLUGIN_DIRECTORY);
    loaded = true;
  }
  return r;
}
