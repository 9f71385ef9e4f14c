#include "statements.hpp"

#include <utility>

#include "codec.hpp"

namespace switchboard::plugins::soci_storage {

namespace {

// Column order of every rules INSERT and UPDATE below; exchange_rule_values() binds in the same order.
constexpr const char* rule_columns =
    "project, company_id, company, caller1, caller2, caller3, caller1_normalised, caller2_normalised, "
    "caller3_normalised, operators, street, city, postcode, note, search_text, created_at, updated_at";
constexpr const char* rule_placeholders =
    ":project, :company_id, :company, :caller1, :caller2, :caller3, :caller1_normalised, :caller2_normalised, "
    ":caller3_normalised, :operators, :street, :city, :postcode, :note, :search_text, :created_at, :updated_at";
constexpr const char* rule_assignments =
    "project = :project, company_id = :company_id, company = :company, caller1 = :caller1, caller2 = :caller2, "
    "caller3 = :caller3, caller1_normalised = :caller1_normalised, caller2_normalised = :caller2_normalised, "
    "caller3_normalised = :caller3_normalised, operators = :operators, street = :street, city = :city, "
    "postcode = :postcode, note = :note, search_text = :search_text, created_at = :created_at, "
    "updated_at = :updated_at";

void exchange_rule_values(soci::statement& statement, RuleValues& v) {
  statement.exchange(soci::use(v.project));
  statement.exchange(soci::use(v.company_id));
  statement.exchange(soci::use(v.company));
  for (auto& caller : v.callers) statement.exchange(soci::use(caller));
  for (auto& caller : v.callers_normalised) statement.exchange(soci::use(caller));
  statement.exchange(soci::use(v.operators));
  statement.exchange(soci::use(v.street));
  statement.exchange(soci::use(v.city));
  statement.exchange(soci::use(v.postcode));
  statement.exchange(soci::use(v.note));
  statement.exchange(soci::use(v.search_text));
  statement.exchange(soci::use(v.created_at));
  statement.exchange(soci::use(v.updated_at));
}

// The rules columns of one row of a multi-row INSERT, each placeholder named for its row: SQLite gives
// equal names one shared index, which would break binding by position.
std::string row_placeholders(std::size_t row) {
  std::string names = std::string(":id, ") + rule_placeholders;
  std::string out = "(";
  std::size_t at = 0;
  while (at < names.size()) {
    auto end = names.find(',', at);
    if (end == std::string::npos) end = names.size();
    out += names.substr(at, end - at) + "_" + std::to_string(row);
    if (end < names.size()) out += ",";
    at = end + 1;
  }
  return out + ")";
}

void prepare(soci::statement& statement, const std::string& query) {
  statement.alloc();
  statement.prepare(query);  // repeatable: SQLite keeps the compiled statement, PostgreSQL a named one
  statement.define_and_bind();
}

long long last_insert_id(soci::session& sql, const char* table) {
  long long id = 0;
  if (!sql.get_last_insert_id(table, id)) throw soci::soci_error(std::string("no id assigned in table ") + table);
  return id;
}

}  // namespace

void RuleValues::assign(const sdk::Rule& rule) { assign(rule, rule.created_at, rule.updated_at); }

void RuleValues::assign(const sdk::Rule& rule, sdk::TimePoint created, sdk::TimePoint updated) {
  id = rule.id;
  project = rule.project;
  company_id = rule.company_id;
  company = rule.company;
  callers = rule.callers;
  callers_normalised = rule.callers_normalised;
  operators = join_operators(rule.operators);
  street = rule.street;
  city = rule.city;
  postcode = rule.postcode;
  note = rule.note;
  search_text = search_text_of(rule);
  created_at = to_millis(created);
  updated_at = to_millis(updated);
}

RuleInsertNew::RuleInsertNew(soci::session& sql, Backend backend) : sql_(sql), backend_(backend), statement_(sql) {
  exchange_rule_values(statement_, values_);
  std::string query = std::string("INSERT INTO rules (") + rule_columns + ") VALUES (" + rule_placeholders + ")";
  if (backend == Backend::postgresql) {
    query += " RETURNING id";
    statement_.exchange(soci::into(assigned_id_));
  }
  prepare(statement_, query);
}

std::int64_t RuleInsertNew::execute(const sdk::Rule& rule) {
  values_.assign(rule);
  statement_.execute(true);
  return backend_ == Backend::postgresql ? assigned_id_ : last_insert_id(sql_, "rules");
}

RuleInsertWithId::RuleInsertWithId(soci::session& sql, Backend) : statement_(sql) {
  statement_.exchange(soci::use(values_.id));
  exchange_rule_values(statement_, values_);
  prepare(statement_, std::string("INSERT INTO rules (id, ") + rule_columns + ") VALUES (:id, " + rule_placeholders + ")");
}

void RuleInsertWithId::execute(const sdk::Rule& rule) {
  values_.assign(rule);
  statement_.execute(true);
}

void RuleInsertWithId::execute(RuleValues& values) {
  std::swap(values_, values);
  statement_.execute(true);
}

RuleInsertBatch::RuleInsertBatch(soci::session& sql, Backend, RuleInsertWithId& single)
    : single_(single), statement_(sql) {
  std::string query = std::string("INSERT INTO rules (id, ") + rule_columns + ") VALUES ";
  for (std::size_t row = 0; row < rows; ++row) {
    statement_.exchange(soci::use(values_[row].id));
    exchange_rule_values(statement_, values_[row]);
    query += (row ? ", " : "") + row_placeholders(row);
  }
  prepare(statement_, query);
}

void RuleInsertBatch::add(const sdk::Rule& rule, sdk::TimePoint created, sdk::TimePoint updated) {
  values_[pending_++].assign(rule, created, updated);
  if (pending_ < rows) return;
  pending_ = 0;  // first: a failed statement leaves nothing waiting (the write is rolled back anyway)
  statement_.execute(true);
}

void RuleInsertBatch::flush() {
  auto waiting = std::exchange(pending_, 0);
  for (std::size_t row = 0; row < waiting; ++row) single_.execute(values_[row]);
}

RuleUpdate::RuleUpdate(soci::session& sql, Backend) : statement_(sql) {
  exchange_rule_values(statement_, values_);
  statement_.exchange(soci::use(values_.id));
  prepare(statement_, std::string("UPDATE rules SET ") + rule_assignments + " WHERE id = :id");
}

void RuleUpdate::execute(const sdk::Rule& rule) {
  values_.assign(rule);
  statement_.execute(true);
}

void NoteValues::assign(const sdk::Note& note) {
  rule_id = note.rule_id;
  saved_at = to_millis(note.saved_at);
  call_at = note.call_at ? to_millis(*note.call_at) : 0;
  call_at_indicator = note.call_at ? soci::i_ok : soci::i_null;
  operator_extension = note.operator_extension;
  agent = note.agent;
  text = note.text;
}

void NoteValues::exchange_into(soci::statement& statement) {
  statement.exchange(soci::use(rule_id));
  statement.exchange(soci::use(saved_at));
  statement.exchange(soci::use(call_at, call_at_indicator));
  statement.exchange(soci::use(operator_extension));
  statement.exchange(soci::use(agent));
  statement.exchange(soci::use(text));
}

NoteInsertIfAbsent::NoteInsertIfAbsent(soci::session& sql, Backend backend)
    : sql_(sql), backend_(backend), statement_(sql) {
  values_.exchange_into(statement_);
  statement_.exchange(soci::use(values_.rule_id));
  statement_.exchange(soci::use(values_.saved_at));
  statement_.exchange(soci::use(values_.operator_extension));
  statement_.exchange(soci::use(values_.text));
  // Distinct placeholder names for the repeated values: SQLite gives equal names one shared index, which
  // would break binding by position. PostgreSQL cannot infer the types of a SELECT list's parameters, so
  // they are cast there.
  std::string query;
  if (backend == Backend::sqlite3) {
    query =
        "INSERT INTO notes (rule_id, saved_at, call_at, operator_extension, agent, text) "
        "SELECT :rule_id, :saved_at, :call_at, :operator_extension, :agent, :text "
        "WHERE NOT EXISTS (SELECT 1 FROM notes WHERE rule_id = :same_rule_id AND saved_at = :same_saved_at "
        "AND operator_extension = :same_operator_extension AND text = :same_text)";
  } else {
    statement_.exchange(soci::into(assigned_id_));
    query =
        "INSERT INTO notes (rule_id, saved_at, call_at, operator_extension, agent, text) "
        "SELECT CAST(:rule_id AS BIGINT), CAST(:saved_at AS BIGINT), CAST(:call_at AS BIGINT), "
        "CAST(:operator_extension AS TEXT), CAST(:agent AS TEXT), CAST(:text AS TEXT) "
        "WHERE NOT EXISTS (SELECT 1 FROM notes WHERE rule_id = CAST(:same_rule_id AS BIGINT) "
        "AND saved_at = CAST(:same_saved_at AS BIGINT) AND operator_extension = CAST(:same_operator_extension AS TEXT) "
        "AND text = CAST(:same_text AS TEXT)) RETURNING id";
  }
  prepare(statement_, query);
}

std::int64_t NoteInsertIfAbsent::execute(const sdk::Note& note) {
  values_.assign(note);
  if (backend_ == Backend::postgresql) return statement_.execute(true) ? assigned_id_ : 0;
  statement_.execute(true);
  return statement_.get_affected_rows() == 1 ? last_insert_id(sql_, "notes") : 0;
}

NoteInsert::NoteInsert(soci::session& sql, Backend backend) : sql_(sql), backend_(backend), statement_(sql) {
  values_.exchange_into(statement_);
  std::string query =
      "INSERT INTO notes (rule_id, saved_at, call_at, operator_extension, agent, text) "
      "VALUES (:rule_id, :saved_at, :call_at, :operator_extension, :agent, :text)";
  if (backend == Backend::postgresql) {
    query += " RETURNING id";
    statement_.exchange(soci::into(assigned_id_));
  }
  prepare(statement_, query);
}

std::int64_t NoteInsert::execute(const sdk::Note& note) {
  values_.assign(note);
  statement_.execute(true);
  return backend_ == Backend::postgresql ? assigned_id_ : last_insert_id(sql_, "notes");
}

CallAppend::CallAppend(soci::session& sql, Backend backend) : sql_(sql), backend_(backend), statement_(sql) {
  statement_.exchange(soci::use(at_));
  statement_.exchange(soci::use(call_id_));
  statement_.exchange(soci::use(project_));
  statement_.exchange(soci::use(caller_));
  statement_.exchange(soci::use(operator_extension_));
  statement_.exchange(soci::use(outcome_));
  statement_.exchange(soci::use(customer_id_, customer_id_indicator_));
  statement_.exchange(soci::use(strategy_));
  statement_.exchange(soci::use(reasons_));
  std::string query =
      "INSERT INTO call_log (at, call_id, project, caller, operator_extension, outcome, customer_id, strategy, "
      "reasons) VALUES (:at, :call_id, :project, :caller, :operator_extension, :outcome, :customer_id, :strategy, "
      ":reasons)";
  if (backend == Backend::postgresql) {
    query += " RETURNING sequence";
    statement_.exchange(soci::into(assigned_sequence_));
  }
  prepare(statement_, query);
}

std::uint64_t CallAppend::execute(const sdk::CallRecord& record) {
  at_ = to_millis(record.at);
  call_id_ = record.call_id;
  project_ = record.project;
  caller_ = record.caller;
  operator_extension_ = record.operator_extension;
  outcome_ = record.outcome;
  customer_id_ = record.customer_id.value_or(0);
  customer_id_indicator_ = record.customer_id ? soci::i_ok : soci::i_null;
  strategy_ = record.strategy;
  reasons_ = encode_reasons(record.reasons);
  statement_.execute(true);
  return static_cast<std::uint64_t>(backend_ == Backend::postgresql ? assigned_sequence_
                                                                    : last_insert_id(sql_, "call_log"));
}

}  // namespace switchboard::plugins::soci_storage
