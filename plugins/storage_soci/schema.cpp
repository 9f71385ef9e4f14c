#include "schema.hpp"

#include <chrono>

#include <soci/soci.h>

#include "transaction.hpp"

namespace switchboard::plugins::soci_storage {

namespace {

// Times are BIGINT milliseconds since the Unix epoch (UTC) in both backends: exact round trips, no time
// zone or driver conversions. Booleans are 0/1 integers (SOCI reads PostgreSQL's BOOLEAN as 't'/'f').
// Identity columns: SQLite's INTEGER PRIMARY KEY AUTOINCREMENT never hands out an id again, even after the
// highest row is deleted (plain INTEGER PRIMARY KEY would); PostgreSQL's BIGSERIAL draws from a sequence,
// which never goes back. Both matter: notes outlive rules, and call log sequences must never be reused.
Migration initial_schema() {
  Migration m;
  m.version = 1;
  m.description = "rules, notes, call log, agents, SA groups, missed calls, audit";
  m.sqlite3 = {
      "CREATE TABLE rules ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " project TEXT NOT NULL,"
      " company_id TEXT NOT NULL,"
      " company TEXT NOT NULL,"
      " caller1 TEXT NOT NULL, caller2 TEXT NOT NULL, caller3 TEXT NOT NULL,"
      " caller1_normalised TEXT NOT NULL, caller2_normalised TEXT NOT NULL, caller3_normalised TEXT NOT NULL,"
      " operators TEXT NOT NULL,"
      " street TEXT NOT NULL, city TEXT NOT NULL, postcode TEXT NOT NULL,"
      " note TEXT NOT NULL,"
      " search_text TEXT NOT NULL,"
      " created_at INTEGER NOT NULL,"
      " updated_at INTEGER NOT NULL)",
      "CREATE INDEX rules_project ON rules (project)",
      "CREATE INDEX rules_caller1_normalised ON rules (caller1_normalised)",
      "CREATE INDEX rules_caller2_normalised ON rules (caller2_normalised)",
      "CREATE INDEX rules_caller3_normalised ON rules (caller3_normalised)",
      // No foreign key to rules: deleting a rule must never delete (or be blocked by) its notes.
      "CREATE TABLE notes ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " rule_id INTEGER NOT NULL,"
      " saved_at INTEGER NOT NULL,"
      " call_at INTEGER,"
      " operator_extension TEXT NOT NULL,"
      " agent TEXT NOT NULL,"
      " text TEXT NOT NULL)",
      "CREATE INDEX notes_rule_saved_at ON notes (rule_id, saved_at)",
      "CREATE TABLE call_log ("
      " sequence INTEGER PRIMARY KEY AUTOINCREMENT,"
      " at INTEGER NOT NULL,"
      " call_id TEXT NOT NULL,"
      " project TEXT NOT NULL,"
      " caller TEXT NOT NULL,"
      " operator_extension TEXT NOT NULL,"
      " outcome INTEGER NOT NULL,"
      " customer_id INTEGER,"
      " strategy TEXT NOT NULL,"
      " reasons TEXT NOT NULL)",
      "CREATE TABLE agents ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " name TEXT NOT NULL UNIQUE,"
      " password_hash TEXT NOT NULL,"
      " extension TEXT NOT NULL,"
      " last_ip TEXT NOT NULL,"
      " start_at INTEGER,"
      " stop_at INTEGER,"
      " may_edit_central_list INTEGER NOT NULL CHECK (may_edit_central_list IN (0, 1)),"
      " may_edit_own_list INTEGER NOT NULL CHECK (may_edit_own_list IN (0, 1)),"
      " call_module INTEGER NOT NULL CHECK (call_module IN (0, 1)),"
      " group_number TEXT NOT NULL,"
      " role TEXT NOT NULL CHECK (role IN ('agent', 'administrator')))",
      "CREATE TABLE sa_groups ("
      " number TEXT PRIMARY KEY,"
      " name TEXT NOT NULL,"
      " capacity INTEGER NOT NULL)",
      "CREATE TABLE missed_calls ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " at INTEGER NOT NULL,"
      " number TEXT NOT NULL,"
      " caller TEXT NOT NULL,"
      " agent_extension TEXT NOT NULL,"
      " customer_id INTEGER,"
      " done INTEGER NOT NULL CHECK (done IN (0, 1)))",
      "CREATE INDEX missed_calls_agent_extension ON missed_calls (agent_extension)",
      "CREATE TABLE audit ("
      " sequence INTEGER PRIMARY KEY AUTOINCREMENT,"
      " at INTEGER NOT NULL,"
      " instance TEXT NOT NULL,"
      " actor TEXT NOT NULL,"
      " command TEXT NOT NULL,"
      " result TEXT NOT NULL,"
      " ok INTEGER NOT NULL CHECK (ok IN (0, 1)))",
  };
  m.postgresql = {
      "CREATE TABLE rules ("
      " id BIGSERIAL PRIMARY KEY,"
      " project TEXT NOT NULL,"
      " company_id TEXT NOT NULL,"
      " company TEXT NOT NULL,"
      " caller1 TEXT NOT NULL, caller2 TEXT NOT NULL, caller3 TEXT NOT NULL,"
      " caller1_normalised TEXT NOT NULL, caller2_normalised TEXT NOT NULL, caller3_normalised TEXT NOT NULL,"
      " operators TEXT NOT NULL,"
      " street TEXT NOT NULL, city TEXT NOT NULL, postcode TEXT NOT NULL,"
      " note TEXT NOT NULL,"
      " search_text TEXT NOT NULL,"
      " created_at BIGINT NOT NULL,"
      " updated_at BIGINT NOT NULL)",
      "CREATE INDEX rules_project ON rules (project)",
      "CREATE INDEX rules_caller1_normalised ON rules (caller1_normalised)",
      "CREATE INDEX rules_caller2_normalised ON rules (caller2_normalised)",
      "CREATE INDEX rules_caller3_normalised ON rules (caller3_normalised)",
      "CREATE TABLE notes ("
      " id BIGSERIAL PRIMARY KEY,"
      " rule_id BIGINT NOT NULL,"
      " saved_at BIGINT NOT NULL,"
      " call_at BIGINT,"
      " operator_extension TEXT NOT NULL,"
      " agent TEXT NOT NULL,"
      " text TEXT NOT NULL)",
      "CREATE INDEX notes_rule_saved_at ON notes (rule_id, saved_at)",
      "CREATE TABLE call_log ("
      " sequence BIGSERIAL PRIMARY KEY,"
      " at BIGINT NOT NULL,"
      " call_id TEXT NOT NULL,"
      " project TEXT NOT NULL,"
      " caller TEXT NOT NULL,"
      " operator_extension TEXT NOT NULL,"
      " outcome INTEGER NOT NULL,"
      " customer_id BIGINT,"
      " strategy TEXT NOT NULL,"
      " reasons TEXT NOT NULL)",
      "CREATE TABLE agents ("
      " id BIGSERIAL PRIMARY KEY,"
      " name TEXT NOT NULL UNIQUE,"
      " password_hash TEXT NOT NULL,"
      " extension TEXT NOT NULL,"
      " last_ip TEXT NOT NULL,"
      " start_at BIGINT,"
      " stop_at BIGINT,"
      " may_edit_central_list SMALLINT NOT NULL CHECK (may_edit_central_list IN (0, 1)),"
      " may_edit_own_list SMALLINT NOT NULL CHECK (may_edit_own_list IN (0, 1)),"
      " call_module SMALLINT NOT NULL CHECK (call_module IN (0, 1)),"
      " group_number TEXT NOT NULL,"
      " role TEXT NOT NULL CHECK (role IN ('agent', 'administrator')))",
      "CREATE TABLE sa_groups ("
      " number TEXT PRIMARY KEY,"
      " name TEXT NOT NULL,"
      " capacity INTEGER NOT NULL)",
      "CREATE TABLE missed_calls ("
      " id BIGSERIAL PRIMARY KEY,"
      " at BIGINT NOT NULL,"
      " number TEXT NOT NULL,"
      " caller TEXT NOT NULL,"
      " agent_extension TEXT NOT NULL,"
      " customer_id BIGINT,"
      " done SMALLINT NOT NULL CHECK (done IN (0, 1)))",
      "CREATE INDEX missed_calls_agent_extension ON missed_calls (agent_extension)",
      "CREATE TABLE audit ("
      " sequence BIGSERIAL PRIMARY KEY,"
      " at BIGINT NOT NULL,"
      " instance TEXT NOT NULL,"
      " actor TEXT NOT NULL,"
      " command TEXT NOT NULL,"
      " result TEXT NOT NULL,"
      " ok SMALLINT NOT NULL CHECK (ok IN (0, 1)))",
  };
  return m;
}

// Any constant shared by every Switchboard process: the key of the PostgreSQL advisory lock that
// serialises migrations between hosts starting at the same time ("SWBD" in ASCII).
constexpr long long migration_lock_key = 0x53574244;

int current_version(soci::session& sql) {
  int version = 0;
  soci::indicator indicator = soci::i_null;
  sql << "SELECT MAX(version) FROM schema_version", soci::into(version, indicator);
  return indicator == soci::i_ok ? version : 0;
}

long long now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{initial_schema()};
  return all;
}

int latest_schema_version() { return migrations().back().version; }

NewerSchemaError::NewerSchemaError(int found, int supported)
    : std::runtime_error("database schema version " + std::to_string(found) +
                         " is newer than this build supports (" + std::to_string(supported) +
                         "); upgrade switchboard"),
      found(found),
      supported(supported) {}

MigrationReport migrate(soci::session& sql, Backend backend) {
  MigrationReport report;
  bool first = true;
  for (;;) {
    // One transaction per migration: a failure leaves the database at the last complete version.
    TransactionStatements control(sql, backend);
    WriteTransaction transaction(control);
    if (backend == Backend::postgresql) {
      long long key = migration_lock_key;
      sql << "SELECT pg_advisory_xact_lock(:key)", soci::use(key);
    }
    sql << "CREATE TABLE IF NOT EXISTS schema_version ("
           " version INTEGER PRIMARY KEY,"
           " description TEXT NOT NULL,"
           " applied_at BIGINT NOT NULL)";
    int version = current_version(sql);
    if (first) report.version_before = version;
    first = false;
    if (version > latest_schema_version()) throw NewerSchemaError(version, latest_schema_version());
    if (version == latest_schema_version()) {
      transaction.commit();
      report.version_after = version;
      return report;
    }
    const Migration& next = migrations().at(static_cast<std::size_t>(version));
    const auto& statements = backend == Backend::sqlite3 ? next.sqlite3 : next.postgresql;
    try {
      for (const auto& statement : statements) sql << statement;
    } catch (const soci::soci_error& e) {
      throw std::runtime_error("cannot apply schema migration " + std::to_string(next.version) + " (" +
                               next.description + "): " + e.get_error_message());
    }
    int applied = next.version;
    long long applied_at = now_millis();
    sql << "INSERT INTO schema_version (version, description, applied_at) VALUES (:version, :description, :at)",
        soci::use(applied), soci::use(next.description), soci::use(applied_at);
    transaction.commit();
  }
}

}  // namespace switchboard::plugins::soci_storage
