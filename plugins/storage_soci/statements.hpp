// The statements on the hot paths (call log append, note add, rule upsert), prepared once per pooled
// session and executed again with new values: each statement is bound to the member variables below,
// which are assigned before every execution.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <soci/soci.h>

#include "connection.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::plugins::soci_storage {

// The columns of a rules row as bound to INSERT and UPDATE.
struct RuleValues {
  long long id = 0;
  std::string project, company_id, company;
  std::array<std::string, 3> callers, callers_normalised;
  std::string operators, street, city, postcode, note, search_text;
  long long created_at = 0, updated_at = 0;

  void assign(const sdk::Rule& rule);
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

 private:
  RuleValues values_;
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

class CallAppend {
 public:
  CallAppend(soci::session& sql, Backend backend);
  std::uint64_t execute(const sdk::CallRecord& record);  // returns the assigned sequence

 private:
  soci::session& sql_;
  Backend backend_;
  long long at_ = 0;
  std::string call_id_, project_, caller_, operator_extension_;
  int outcome_ = 0;
  long long customer_id_ = 0;
  soci::indicator customer_id_indicator_ = soci::i_null;
  std::string strategy_, reasons_;
  long long assigned_sequence_ = 0;
  soci::statement statement_;
};

struct PreparedStatements {
  PreparedStatements(soci::session& sql, Backend backend)
      : rule_insert_new(sql, backend), rule_insert_with_id(sql, backend), rule_update(sql, backend),
        note_insert_if_absent(sql, backend), note_insert(sql, backend), call_append(sql, backend) {}

  RuleInsertNew rule_insert_new;
  RuleInsertWithId rule_insert_with_id;
  RuleUpdate rule_update;
  NoteInsertIfAbsent note_insert_if_absent;
  NoteInsert note_insert;
  CallAppend call_append;
};

}  // namespace switchboard::plugins::soci_storage
