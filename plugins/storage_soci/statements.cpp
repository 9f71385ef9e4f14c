#include "statements.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include <soci/sqlite3/soci-sqlite3.h>

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

// "INSERT INTO table (columns) VALUES (...), (...)" for `rows` rows, each placeholder named for its column and
// row (`:id_0, :project_0, ...`): SQLite gives equal names one shared index, which would break binding by
// position. The caller exchanges the values of row 0, then row 1, and so on, in column order.
std::string multi_row_insert(const std::string& table, const std::string& columns, std::size_t rows) {
  std::string query = "INSERT INTO " + table + " (" + columns + ") VALUES ";
  for (std::size_t row = 0; row < rows; ++row) {
    query += row ? ", (" : "(";
    std::size_t at = 0;
    while (at < columns.size()) {
      auto end = columns.find(',', at);
      if (end == std::string::npos) end = columns.size();
      if (at) query += ", ";
      query += ':' + columns.substr(at, end - at) + '_' + std::to_string(row);
      at = columns.find_first_not_of(' ', end + 1);
      if (at == std::string::npos) break;
    }
    query += ')';
  }
  return query;
}

void prepare(soci::statement& statement, const std::string& query) {
  statement.alloc();
  statement.prepare(query);  // repeatable: SQLite keeps the compiled statement, PostgreSQL a named one
  statement.define_and_bind();
}

}  // namespace

// Asked of SQLite itself: SOCI's session::get_last_insert_id compiles a query at every call, and a prepared
// SELECT left on its row would hold a read snapshot past COMMIT (the next BEGIN IMMEDIATE then fails at once
// with "database is locked").
long long last_insert_id(soci::session& sql, const char* table) {
  auto* connection = static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
  auto id = static_cast<long long>(sqlite_api::sqlite3_last_insert_rowid(connection));
  if (id <= 0) throw soci::soci_error(std::string("no id assigned in table ") + table);
  return id;
}

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
  for (auto& row : values_) {
    statement_.exchange(soci::use(row.id));
    exchange_rule_values(statement_, row);
  }
  prepare(statement_, multi_row_insert("rules", std::string("id, ") + rule_columns, rows));
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

void CallValues::assign(const sdk::CallRecord& record) {
  at = to_millis(record.at);
  call_id = record.call_id;
  project = record.project;
  caller = record.caller;
  operator_extension = record.operator_extension;
  outcome = record.outcome;
  customer_id = record.customer_id.value_or(0);
  customer_id_indicator = record.customer_id ? soci::i_ok : soci::i_null;
  strategy = record.strategy;
  encode_reasons(record.reasons, reasons);
}

void CallValues::exchange_into(soci::statement& statement) {
  statement.exchange(soci::use(at));
  statement.exchange(soci::use(call_id));
  statement.exchange(soci::use(project));
  statement.exchange(soci::use(caller));
  statement.exchange(soci::use(operator_extension));
  statement.exchange(soci::use(outcome));
  statement.exchange(soci::use(customer_id, customer_id_indicator));
  statement.exchange(soci::use(strategy));
  statement.exchange(soci::use(reasons));
}

CallAppend::CallAppend(soci::session& sql, Backend backend) : sql_(sql), backend_(backend) {}

CallAppend::Chunk& CallAppend::chunk_of(std::size_t rows) {
  auto& chunk = chunks_[static_cast<std::size_t>(std::countr_zero(rows))];
  if (chunk) return *chunk;
  chunk = std::make_unique<Chunk>(sql_);
  // Every chunk statement binds the first `rows` of the same values.
  for (std::size_t row = 0; row < rows; ++row) values_[row].exchange_into(chunk->statement);
  std::string query = multi_row_insert(
      "call_log", "at, call_id, project, caller, operator_extension, outcome, customer_id, strategy, reasons", rows);
  if (backend_ == Backend::postgresql) {
    // The sequences come back in the order of the VALUES rows, each drawn when its row is inserted.
    query += " RETURNING sequence";
    chunk->sequences.resize(rows);
    chunk->statement.exchange(soci::into(chunk->sequences));
  }
  prepare(chunk->statement, query);
  return *chunk;
}

void CallAppend::execute(std::span<sdk::CallRecord> records) {
  while (!records.empty()) {
    // The largest power of two that fits, up to max_rows: a batch takes as many statements as its size
    // has binary digits (100 = 64 + 32 + 4), plus one for every further max_rows.
    std::size_t rows = std::min(max_rows, std::bit_floor(records.size()));
    auto part = records.first(rows);
    for (std::size_t row = 0; row < rows; ++row) values_[row].assign(part[row]);
    auto& chunk = chunk_of(rows);
    if (backend_ == Backend::postgresql) {
      chunk.sequences.resize(rows);
      chunk.statement.execute(true);
      if (chunk.sequences.size() != rows) throw soci::soci_error("call log insert returned no sequence for a row");
      for (std::size_t row = 0; row < rows; ++row) part[row].sequence = static_cast<std::uint64_t>(chunk.sequences[row]);
    } else {
      chunk.statement.execute(true);
      // The rows took consecutive rowids ending at the last one: the transaction holds the write lock,
      // and AUTOINCREMENT gives each new row the highest rowid ever used plus one.
      auto last = last_insert_id(sql_, "call_log");
      for (std::size_t row = 0; row < rows; ++row)
        part[row].sequence = static_cast<std::uint64_t>(last - static_cast<long long>(rows - 1 - row));
    }
    records = records.subspan(rows);
  }
}

}  // namespace switchboard::plugins::soci_storage
