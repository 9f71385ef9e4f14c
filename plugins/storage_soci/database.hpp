// The storage's blocking half: every domain operation as SQL on a pooled session. Called only from the
// host's blocking pool (never from a strand); safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "connection.hpp"
#include "schema.hpp"
#include "session_pool.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::plugins::soci_storage {

// A request the storage refuses (a bad argument, an unknown id): the database itself is fine.
class RequestError : public std::runtime_error {
 public:
  RequestError(sdk::ErrorCode code, const std::string& message) : std::runtime_error(message), code(code) {}
  sdk::ErrorCode code;
};

// What one pooled session runs with, read back from the database (for tests and diagnostics).
struct SessionSettings {
  std::string journal_mode;       // SQLite: "wal"
  int synchronous = -1;           // SQLite: 2 = FULL
  long long busy_timeout_ms = -1; // SQLite
  std::string synchronous_commit; // PostgreSQL: "on"
};

class Database {
 public:
  // Opens `pool_size` sessions (creating an SQLite file's missing parent folder) and migrates the schema.
  // Throws; describe_open_failure() turns the exception into a message.
  Database(ConnectionTarget target, std::size_t pool_size);

  const ConnectionTarget& target() const noexcept { return target_; }
  const MigrationReport& migration() const noexcept { return migration_; }
  // Waits for running operations, then closes every session. Later operations fail.
  void close() { pool_.close(); }

  std::vector<sdk::RuleKeys> load_rule_keys();
  std::vector<sdk::Rule> get_rules(const std::vector<std::int64_t>& ids);
  std::vector<sdk::Rule> list_rules(const std::optional<std::string>& project);
  std::vector<sdk::Rule> search_rules(const sdk::RuleQuery& query);
  sdk::RuleWriteSummary write_rules(const sdk::RuleWrite& write, sdk::TimePoint now);
  void delete_rule(std::int64_t rule_id);

  sdk::Note add_note(sdk::Note note, sdk::TimePoint now);
  std::vector<sdk::Note> notes_for(std::int64_t rule_id);
  std::vector<sdk::Note> list_notes(const std::optional<std::string>& project);

  std::vector<sdk::CallRecord> append_calls(std::vector<sdk::CallRecord> records);
  std::vector<sdk::CallRecord> read_calls(std::uint64_t after_sequence, std::size_t limit);
  std::uint64_t delete_calls_through(std::uint64_t through_sequence);

  std::vector<sdk::Agent> load_agents();
  sdk::Agent save_agent(sdk::Agent agent);
  void remove_agent(const std::string& name);
  std::vector<sdk::SaGroup> load_groups();
  void save_group(const sdk::SaGroup& group);

  sdk::MissedCall add_missed(sdk::MissedCall call);
  std::vector<sdk::MissedCall> list_missed(const std::optional<std::string>& agent_extension);
  void mark_missed_done(std::int64_t id);

  void append_audit(const std::vector<sdk::AuditRecord>& records);

  // The settings of every pooled session (waits until each is free).
  std::vector<SessionSettings> session_settings();

 private:
  ConnectionTarget target_;
  SessionPool pool_;
  MigrationReport migration_;
};

// The exception being handled, as an error a person can act on:
//   "cannot open database var/x.db: unable to open database file"
//   "database schema version 9 is newer than this build supports (1); upgrade switchboard"
sdk::Error describe_open_failure(const ConnectionTarget& target);
//   "cannot append to the call log in var/x.db: database is locked"
sdk::Error describe_failure(std::string_view doing, const ConnectionTarget& target);

}  // namespace switchboard::plugins::soci_storage
