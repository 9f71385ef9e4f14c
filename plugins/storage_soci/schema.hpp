// The database schema: numbered, forward-only migrations, each applied in its own transaction and
// recorded in `schema_version`. A database whose version is newer than this build's is refused.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "connection.hpp"

namespace soci {
class session;
}

namespace switchboard::plugins::soci_storage {

struct Migration {
  int version;
  std::string description;
  // The same change written for each backend; the dialect differences are spelt out, not generated.
  std::vector<std::string> sqlite3;
  std::vector<std::string> postgresql;
};

// Every migration, in order; versions are 1, 2, 3… without gaps. Never edit a released one: add another.
const std::vector<Migration>& migrations();
int latest_schema_version();

// The database is newer than this build: a person must upgrade switchboard (never downgrade data).
class NewerSchemaError : public std::runtime_error {
 public:
  NewerSchemaError(int found, int supported);
  int found, supported;
};

struct MigrationReport {
  int version_before = 0;
  int version_after = 0;
};

// Brings the database to latest_schema_version(). Concurrent starts against one database are serialised
// (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so each migration is applied exactly once.
MigrationReport migrate(soci::session& sql, Backend backend);

}  // namespace switchboard::plugins::soci_storage
