// The statements on the hot paths (call log append, note add, rule upsert), prepared once per pooled
// session and executed again with new values: each statement is bound to the member variables below,
// which are assigned before every execution.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "connection.hpp"
#include "transaction.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::plugins::soci_storage {

// SQLite only (PostgreSQL inserts use RETURNING): the rowid of the session's last INSERT, of the last row of a
// multi-row one; throws when the insert assigned none.
long long last_insert_id(soci::session& sql, const char* table);

// The columns of a rules row as bound to INSERT and UPDATE.
struct RuleValues {
  long long id = 0;
  std::string project, company_id, company;
  std::array<std::string, 3> callers, callers_normalised;
  std::string operators, street, city, postcode, note, search_text;
  long long created_at = 0, updated_at = 0;

  void assign(const sdk::Rule& rule);
  // The same with other timestamps (a new rule given none gets the write's time).
  void assign(const sdk::Rule& rule, sdk::TimePoint created, sdk::TimePoint updated);
};

class RuleInsertNew {
 public:
  RuleInsertNew(soci::session& sql, Backend backend);
  std::int64_t execute(const sdk::Rule& rule);  // returns the assigned id

 private:
  soci::session& sql_;
  Backend backend_;
  RuleValues values_;
  long long assigned_id_ = 0;
  soci::statement statement_;
};

class RuleInsertWithId {
 public:
  RuleInsertWithId(soci::session& sql, Backend backend);
  void execute(const sdk::Rule& rule);
  // Inserts `values` as they are (they are taken: left in an unspecified state).
  void execute(RuleValues& values);

 private:
  RuleValues values_;
  soci::statement statement_;
};

// Rules with their own ids, inserted `rows` to a statement: a statement per row costs SQLite a statement
// start, a table cursor and an update of the AUTOINCREMENT counter for every row (batches halved the
// insert time of a million-rule import). 50 rows of 18 values stay below 999 parameters, the limit of
// SQLite builds before 3.32. Rows wait in the batch until it is full or flushed: flush before anything
// that must see them (an insert that takes the next free id, a read of the table, the end of the write).
class RuleInsertBatch {
 public:
  static constexpr std::size_t rows = 50;

  RuleInsertBatch(soci::session& sql, Backend backend, RuleInsertWithId& single);
  void add(const sdk::Rule& rule, sdk::TimePoint created, sdk::TimePoint updated);
  // Inserts the rows still waiting (one statement each: fewer than `rows`).
  void flush();
  // Forgets the rows still waiting: a write that failed leaves its batch to the session's next write.
  void discard() { pending_ = 0; }

 private:
  RuleInsertWithId& single_;
  std::array<RuleValues, rows> values_;
  std::size_t pending_ = 0;
  soci::statement statement_;
};

class RuleUpdate {
 public:
  RuleUpdate(soci::session& sql, Backend backend);
  void execute(const sdk::Rule& rule);

 private:
  RuleValues values_;
  soci::statement statement_;
};

// The columns of a notes row as bound to INSERT: the six values, in column order.
struct NoteValues {
  long long rule_id = 0, saved_at = 0, call_at = 0;
  soci::indicator call_at_indicator = soci::i_null;
  std::string operator_extension, agent, text;

  void assign(const sdk::Note& note);
  void exchange_into(soci::statement& statement);
};

// Inserts a note unless one identical in rule, saved_at, operator and text is stored.
class NoteInsertIfAbsent {
 public:
  NoteInsertIfAbsent(soci::session& sql, Backend backend);
  // Returns the new note's id, or 0 when an identical note exists.
  std::int64_t execute(const sdk::Note& note);

 private:
  soci::session& sql_;
  Backend backend_;
  NoteValues values_;
  long long assigned_id_ = 0;  // PostgreSQL: RETURNING id
  soci::statement statement_;
};

// Inserts a note (add_note: every press of "Send" is a record).
class NoteInsert {
 public:
  NoteInsert(soci::session& sql, Backend backend);
  std::int64_t execute(const sdk::Note& note);  // returns the new id

 private:
  soci::session& sql_;
  Backend backend_;
  NoteValues values_;
  long long assigned_id_ = 0;
  soci::statement statement_;
};

// The columns of a call_log row as bound to INSERT, in column order. Assigned again for every row: the
// strings keep their capacity, so a busy append allocates nothing per row.
struct CallValues {
  long long at = 0;
  std::string call_id, project, caller, operator_extension;
  int outcome = 0;
  long long customer_id = 0;
  soci::indicator customer_id_indicator = soci::i_null;
  std::string strategy, reasons;

  void assign(const sdk::CallRecord& record);
  void exchange_into(soci::statement& statement);
};

// Call records inserted many to a statement, as RuleInsertBatch does: a statement per row cost SQLite a
// statement start and an id query for every row. A batch goes in chunks of 64, 32, ... 1 rows, each chunk
// size a statement prepared at its first use on the session; the records keep their order and get
// consecutive ascending sequences. 64 rows of 9 values stay below 999 parameters.
class CallAppend {
 public:
  static constexpr std::size_t max_rows = 64;

  CallAppend(soci::session& sql, Backend backend);
  // Inserts the records in order and sets each one's sequence. Run inside the append's transaction.
  void execute(std::span<sdk::CallRecord> records);

 private:
  struct Chunk {
    explicit Chunk(soci::session& sql) : statement(sql) {}
    soci::statement statement;
    std::vector<long long> sequences;  // PostgreSQL: RETURNING sequence
  };
  Chunk& chunk_of(std::size_t rows);  // rows: a power of two up to max_rows

  soci::session& sql_;
  Backend backend_;
  std::array<CallValues, max_rows> values_;
  std::array<std::unique_ptr<Chunk>, std::bit_width(max_rows)> chunks_;  // by log2(rows)
};

struct PreparedStatements {
  PreparedStatements(soci::session& sql, Backend backend)
      : sql(sql), backend(backend), rule_insert_new(sql, backend), rule_insert_with_id(sql, backend),
        rule_update(sql, backend), note_insert_if_absent(sql, backend), note_insert(sql, backend),
        call_append(sql, backend), transaction(sql, backend) {}

  // Prepared when the session first writes rules: its 900 placeholders are not prepared for sessions that
  // never do.
  RuleInsertBatch& rule_insert_batch() {
    if (!rule_insert_batch_) rule_insert_batch_ = std::make_unique<RuleInsertBatch>(sql, backend, rule_insert_with_id);
    return *rule_insert_batch_;
  }

  soci::session& sql;
  Backend backend;
  RuleInsertNew rule_insert_new;
  RuleInsertWithId rule_insert_with_id;
  RuleUpdate rule_update;
  NoteInsertIfAbsent note_insert_if_absent;
  NoteInsert note_insert;
  CallAppend call_append;
  TransactionStatements transaction;

 private:
  std::unique_ptr<RuleInsertBatch> rule_insert_batch_;
};

}  // namespace switchboard::plugins::soci_storage
