#include "soci_storage.hpp"
#include "switchboard/sdk/plugin.hpp"

SWITCHBOARD_PLUGIN("switchboard.storage-soci", SWITCHBOARD_VERSION, "Switchboard",
                   "Storage: SQLite or PostgreSQL through SOCI.", switchboard::plugins::register_soci_storage)
