#include "database.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <system_error>
#include <unordered_set>
#include <utility>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "codec.hpp"
#include "statements.hpp"
#include "transaction.hpp"

namespace switchboard::plugins::soci_storage {

namespace {

// ----- reading rows ----------------------------------------------------------------------------------

// Runs a query whose into() and use() were exchanged on `statement`, calling `on_row` after each row.
// One-time queries: SQLite finalizes them (ending their read snapshot) when `statement` goes away.
template <class OnRow>
void for_each_row(soci::statement& statement, const std::string& query, OnRow on_row) {
  statement.alloc();
  statement.prepare(query, soci::details::st_one_time_query);
  statement.define_and_bind();
  statement.execute(false);
  while (statement.fetch()) on_row();
}

long long to_sql_integer(std::uint64_t value) {
  return static_cast<long long>(std::min<std::uint64_t>(value, std::numeric_limits<long long>::max()));
}

constexpr const char* rule_select =
    "SELECT id, project, company_id, company, caller1, caller2, caller3, caller1_normalised, caller2_normalised, "
    "caller3_normalised, operators, street, city, postcode, note, created_at, updated_at FROM rules";

struct RuleRow {
  long long id = 0;
  std::string project, company_id, company;
  std::array<std::string, 3> callers, callers_normalised;
  std::string operators, street, city, postcode, note;
  long long created_at = 0, updated_at = 0;

  void exchange_into(soci::statement& statement) {
    statement.exchange(soci::into(id));
    statement.exchange(soci::into(project));
    statement.exchange(soci::into(company_id));
    statement.exchange(soci::into(company));
    for (auto& caller : callers) statement.exchange(soci::into(caller));
    for (auto& caller : callers_normalised) statement.exchange(soci::into(caller));
    statement.exchange(soci::into(operators));
    statement.exchange(soci::into(street));
    statement.exchange(soci::into(city));
    statement.exchange(soci::into(postcode));
    statement.exchange(soci::into(note));
    statement.exchange(soci::into(created_at));
    statement.exchange(soci::into(updated_at));
  }

  sdk::Rule to_rule() const {
    sdk::Rule rule;
    rule.id = id;
    rule.project = project;
    rule.company_id = company_id;
    rule.company = company;
    rule.callers = callers;
    rule.callers_normalised = callers_normalised;
    rule.operators = split_operators(operators);
    rule.street = street;
    rule.city = city;
    rule.postcode = postcode;
    rule.note = note;
    rule.created_at = from_millis(created_at);
    rule.updated_at = from_millis(updated_at);
    return rule;
  }
};

// Rules matching `tail` (WHERE/ORDER BY text with placeholders), whose values `bind` exchanges.
template <class Bind>
std::vector<sdk::Rule> select_rules(soci::session& sql, const std::string& tail, Bind bind) {
  RuleRow row;
  soci::statement statement(sql);
  row.exchange_into(statement);
  bind(statement);
  std::vector<sdk::Rule> rules;
  for_each_row(statement, rule_select + tail, [&] { rules.push_back(row.to_rule()); });
  return rules;
}

// One rule by id, prepared once and executed per id: a million-rule import asks a million times.
class RuleById {
 public:
  explicit RuleById(soci::session& sql) : statement_(sql) {
    row_.exchange_into(statement_);
    statement_.exchange(soci::use(wanted_));
    statement_.alloc();
    statement_.prepare(std::string(rule_select) + " WHERE id = :id", soci::details::st_repeatable_query);
    statement_.define_and_bind();
  }
  std::optional<sdk::Rule> find(long long id) {
    wanted_ = id;
    if (!statement_.execute(true)) return std::nullopt;
    return row_.to_rule();
  }

 private:
  RuleRow row_;
  long long wanted_ = 0;
  soci::statement statement_;
};

std::optional<sdk::Rule> select_rule(soci::session& sql, long long id) {
  auto rules = select_rules(sql, " WHERE id = :id", [&](soci::statement& s) { s.exchange(soci::use(id)); });
  if (rules.empty()) return std::nullopt;
  return rules.front();
}

// A write this large is an import: it reads the stored ids once instead of looking up every rule, and
// SQLite rebuilds the rules indexes after it instead of inserting into them.
constexpr std::size_t large_write = 20'000;

// SQLite: a large write keeps the pages it writes in memory while it lasts (they are read again to build
// the indexes, and would otherwise be spilled to the WAL mid-transaction and read back from it); the
// session's own cache size is restored afterwards.
class LargerPageCache {
 public:
  explicit LargerPageCache(soci::session& sql) : sql_(sql) {
    sql_ << "PRAGMA cache_size", soci::into(restore_);
    sql_ << "PRAGMA cache_size = -262144";  // KiB: 256 MiB
  }
  ~LargerPageCache() {
    try {
      sql_ << "PRAGMA cache_size = " + std::to_string(restore_);
    } catch (...) {
      // The session is broken; the pool checks it before its next use.
    }
  }
  LargerPageCache(const LargerPageCache&) = delete;
  LargerPageCache& operator=(const LargerPageCache&) = delete;

 private:
  soci::session& sql_;
  long long restore_ = 0;
};

// The ids a query selects (`project` bound when given), in its order.
std::vector<long long> select_ids(soci::session& sql, const char* query, std::string* project) {
  long long id = 0;
  std::vector<long long> ids;
  soci::statement select(sql);
  select.exchange(soci::into(id));
  if (project) select.exchange(soci::use(*project));
  for_each_row(select, query, [&] { ids.push_back(id); });
  return ids;
}

// The position of the first rule whose id an earlier rule of the write has too, or npos.
std::size_t first_repeated_id(const std::vector<sdk::Rule>& rules) {
  std::vector<std::pair<std::int64_t, std::size_t>> ids;
  ids.reserve(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (rules[i].id > 0) ids.emplace_back(rules[i].id, i);
  std::sort(ids.begin(), ids.end());
  std::size_t first = std::string::npos;
  for (std::size_t k = 1; k < ids.size(); ++k)
    if (ids[k].first == ids[k - 1].first) first = std::min(first, ids[k].second);
  return first;
}

sdk::RuleKeys keys_of(const sdk::Rule& rule) {
  return sdk::RuleKeys{rule.id, rule.project, rule.callers_normalised, rule.operators};
}

// Everything a person entered; the timestamps are bookkeeping and do not make a rule "changed".
bool same_content(const sdk::Rule& a, const sdk::Rule& b) {
  return a.project == b.project && a.company_id == b.company_id && a.company == b.company && a.callers == b.callers &&
         a.callers_normalised == b.callers_normalised && a.operators == b.operators && a.street == b.street &&
         a.city == b.city && a.postcode == b.postcode && a.note == b.note;
}

constexpr const char* note_select = "SELECT id, rule_id, saved_at, call_at, operator_extension, agent, text FROM notes";

struct NoteRow {
  long long id = 0, rule_id = 0, saved_at = 0, call_at = 0;
  soci::indicator call_at_indicator = soci::i_null;
  std::string operator_extension, agent, text;

  void exchange_into(soci::statement& statement) {
    statement.exchange(soci::into(id));
    statement.exchange(soci::into(rule_id));
    statement.exchange(soci::into(saved_at));
    statement.exchange(soci::into(call_at, call_at_indicator));
    statement.exchange(soci::into(operator_extension));
    statement.exchange(soci::into(agent));
    statement.exchange(soci::into(text));
  }
  sdk::Note to_note() const {
    sdk::Note note;
    note.id = id;
    note.rule_id = rule_id;
    note.saved_at = from_millis(saved_at);
    if (call_at_indicator == soci::i_ok) note.call_at = from_millis(call_at);
    note.operator_extension = operator_extension;
    note.agent = agent;
    note.text = text;
    return note;
  }
};

template <class Bind>
std::vector<sdk::Note> select_notes(soci::session& sql, const std::string& query, Bind bind) {
  NoteRow row;
  soci::statement statement(sql);
  row.exchange_into(statement);
  bind(statement);
  std::vector<sdk::Note> notes;
  for_each_row(statement, query, [&] { notes.push_back(row.to_note()); });
  return notes;
}

const char* role_name(sdk::AgentRole role) { return role == sdk::AgentRole::administrator ? "administrator" : "agent"; }

sdk::AgentRole role_from(const std::string& name) {
  return name == "administrator" ? sdk::AgentRole::administrator : sdk::AgentRole::agent;
}

// ----- errors --------------------------------------------------------------------------------------

// SOCI wraps the database's message in its own words ("Cannot execute query. Fatal error. ERROR:  ...",
// "sqlite3_statement_backend::loadOne: ..."); a person needs only the database's part, on one line.
std::string clean_message(std::string message) {
  for (const char* noise : {"Cannot establish connection to the database.", "Cannot execute query.", "Fatal error.",
                            "ERROR:", "FATAL:"}) {
    for (auto at = message.find(noise); at != std::string::npos; at = message.find(noise))
      message.erase(at, std::char_traits<char>::length(noise));
  }
  auto scope = message.find("_backend::");
  if (scope != std::string::npos) {
    auto colon = message.find(": ", scope);
    if (colon != std::string::npos) message.erase(0, colon + 2);
  }
  std::string single_line;
  bool space = false;
  for (char c : message) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !single_line.empty();
      continue;
    }
    if (space) single_line += ' ';
    space = false;
    single_line += c;
  }
  return single_line;
}

sdk::ErrorCode code_of_sqlite(int result) {
  switch (result & 0xff) {  // primary result code
    case 5:   // SQLITE_BUSY
    case 6:   // SQLITE_LOCKED
      return sdk::ErrorCode::busy;
    case 8:   // SQLITE_READONLY
    case 10:  // SQLITE_IOERR
    case 13:  // SQLITE_FULL
    case 14:  // SQLITE_CANTOPEN
    case 26:  // SQLITE_NOTADB
      return sdk::ErrorCode::unavailable;
    case 19:  // SQLITE_CONSTRAINT
      return sdk::ErrorCode::conflict;
    default:
      return sdk::ErrorCode::failed;
  }
}

sdk::ErrorCode code_of_postgresql(const std::string& sqlstate) {
  auto error_class = sqlstate.substr(0, 2);
  if (error_class == "08" || error_class == "53" || error_class == "57") return sdk::ErrorCode::unavailable;
  if (error_class == "23" || error_class == "40") return sdk::ErrorCode::conflict;  // 40: retry the operation
  return sdk::ErrorCode::failed;
}

// The code and cleaned message of the exception being handled.
sdk::Error classify_current_exception(sdk::ErrorCode fallback) {
  try {
    throw;
  } catch (const RequestError& e) {
    return {e.code, e.what()};
  } catch (const soci::sqlite3_soci_error& e) {
    return {code_of_sqlite(e.result()), clean_message(e.get_error_message())};
  } catch (const soci::postgresql_soci_error& e) {
    return {code_of_postgresql(e.sqlstate()), clean_message(e.get_error_message())};
  } catch (const soci::soci_error& e) {
    return {fallback, clean_message(e.get_error_message())};
  } catch (const std::exception& e) {
    return {fallback, clean_message(e.what())};
  } catch (...) {
    return {fallback, "unknown error"};
  }
}

ConnectionTarget with_parent_folder(ConnectionTarget target) {
  if (target.backend != Backend::sqlite3) return target;
  auto parent = std::filesystem::path(target.location).parent_path();
  if (parent.empty()) return target;
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) throw std::runtime_error("cannot create the folder " + parent.string() + ": " + ec.message());
  return target;
}

}  // namespace

sdk::Error describe_open_failure(const ConnectionTarget& target) {
  try {
    throw;
  } catch (const NewerSchemaError& e) {
    return {sdk::ErrorCode::failed, e.what()};
  } catch (...) {
    auto error = classify_current_exception(sdk::ErrorCode::unavailable);
    return {error.code, redact("cannot open database " + target.display() + ": " + error.message, target.password)};
  }
}

sdk::Error describe_failure(std::string_view doing, const ConnectionTarget& target) {
  try {
    throw;
  } catch (const RequestError& e) {
    return {e.code, "cannot " + std::string(doing) + ": " + e.what()};
  } catch (...) {
    auto error = classify_current_exception(sdk::ErrorCode::failed);
    return {error.code, redact("cannot " + std::string(doing) + " in " + target.display() + ": " + error.message,
                               target.password)};
  }
}

// ----- opening ----------------------------------------------------------------------------------------

Database::Database(ConnectionTarget target, std::size_t pool_size)
    : target_(with_parent_folder(std::move(target))), pool_(target_, pool_size) {
  auto lease = pool_.acquire();
  migration_ = migrate(lease->sql, target_.backend);
}

// ----- rules -----------------------------------------------------------------------------------------

std::vector<sdk::RuleKeys> Database::load_rule_keys() {
  auto lease = pool_.acquire();
  long long id = 0;
  std::string project, operators;
  std::array<std::string, 3> callers;
  soci::statement statement(lease->sql);
  statement.exchange(soci::into(id));
  statement.exchange(soci::into(project));
  for (auto& caller : callers) statement.exchange(soci::into(caller));
  statement.exchange(soci::into(operators));
  std::vector<sdk::RuleKeys> keys;
  // Sized once: growing by doubling would move a million keys some twenty times (and fault in every new
  // block) on the way to the host's first routed call. SQLite counts from its smallest index in milliseconds;
  // PostgreSQL would scan the table, so there the vector grows.
  if (target_.backend == Backend::sqlite3) {
    long long rows = 0;
    lease->sql << "SELECT count(*) FROM rules", soci::into(rows);
    keys.reserve(static_cast<std::size_t>(std::max(rows, 0LL)));
  }
  for_each_row(statement,
               "SELECT id, project, caller1_normalised, caller2_normalised, caller3_normalised, operators "
               "FROM rules ORDER BY id",
               [&] { keys.push_back(sdk::RuleKeys{id, project, callers, split_operators(operators)}); });
  // Reading every rule filled this connection's page cache (up to 64 MiB) with pages that routing never reads
  // again: free them, so a host with a million customers does not keep them for its whole life.
  if (target_.backend == Backend::sqlite3) lease->sql << "PRAGMA shrink_memory";
  return keys;
}

std::vector<sdk::Rule> Database::get_rules(const std::vector<std::int64_t>& ids) {
  auto lease = pool_.acquire();
  std::vector<sdk::Rule> rules;
  for (auto id : ids)
    if (auto rule = select_rule(lease->sql, id)) rules.push_back(std::move(*rule));
  return rules;
}

std::vector<sdk::Rule> Database::list_rules(const std::optional<std::string>& project) {
  auto lease = pool_.acquire();
  if (!project) return select_rules(lease->sql, " ORDER BY id", [](soci::statement&) {});
  return select_rules(lease->sql, " WHERE project = :project ORDER BY id",
                      [&](soci::statement& s) { s.exchange(soci::use(*project)); });
}

std::vector<sdk::Rule> Database::search_rules(const sdk::RuleQuery& query) {
  if (query.limit == 0) return {};
  auto lease = pool_.acquire();
  // Filters are combined with AND; an empty filter does not restrict. Only fixed SQL fragments are joined
  // here: every value is bound.
  std::string needle = fold_case(query.text);
  std::string number = query.number_normalised;
  long long limit = to_sql_integer(query.limit);
  long long offset = to_sql_integer(query.offset);
  std::vector<std::string> conditions;
  if (!needle.empty())
    conditions.push_back(target_.backend == Backend::sqlite3 ? "instr(search_text, :needle) > 0"
                                                             : "strpos(search_text, :needle) > 0");
  if (!number.empty())
    conditions.push_back(
        "(caller1_normalised = :number1 OR caller2_normalised = :number2 OR caller3_normalised = :number3)");
  if (query.project) conditions.push_back("project = :project");
  std::string tail;
  for (std::size_t i = 0; i < conditions.size(); ++i) tail += (i == 0 ? " WHERE " : " AND ") + conditions[i];
  tail += " ORDER BY id LIMIT :limit OFFSET :offset";
  return select_rules(lease->sql, tail, [&](soci::statement& s) {
    if (!needle.empty()) s.exchange(soci::use(needle));
    if (!number.empty())
      for (int i = 0; i < 3; ++i) s.exchange(soci::use(number));
    if (query.project) s.exchange(soci::use(*query.project));
    s.exchange(soci::use(limit));
    s.exchange(soci::use(offset));
  });
}

sdk::RuleWriteSummary Database::write_rules(const sdk::RuleWrite& write, sdk::TimePoint now) {
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  auto& prepared = lease->prepared();
  const auto& rules = write.rules;
  const bool sqlite = target_.backend == Backend::sqlite3;
  const bool large = rules.size() >= large_write;
  sdk::RuleWriteSummary summary;
  summary.written.reserve(rules.size());
  WriteTransaction transaction(lease->prepared().transaction);
  if (!sqlite) {
    // One rule writer at a time, as SQLite's write lock gives; readers are not blocked.
    sql << "LOCK TABLE rules IN SHARE ROW EXCLUSIVE MODE";
  }
  // Checks happen as the write proceeds, so a refusal half way rolls back what was already written.
  // A large write into SQLite goes faster without the project and number indexes: built once from sorted
  // keys afterwards instead of taking a random insert per row (a million-rule import: 3x). Same
  // transaction, so a refused write leaves them as they were.
  static constexpr const char* rule_indexes[][2] = {{"rules_project", "project"},
                                                    {"rules_caller1_normalised", "caller1_normalised"},
                                                    {"rules_caller2_normalised", "caller2_normalised"},
                                                    {"rules_caller3_normalised", "caller3_normalised"}};
  const bool rebuild_indexes = sqlite && large;
  std::optional<LargerPageCache> larger_cache;
  if (rebuild_indexes) larger_cache.emplace(sql);
  if (rebuild_indexes)
    for (const auto& index : rule_indexes) sql << std::string("DROP INDEX IF EXISTS ") + index[0];
  // A repeated id is found here but refused where the loop reaches it, after the checks of the rules before.
  const std::size_t repeated_at = first_repeated_id(rules);
  // A large write reads the stored ids once; only the rules among them are read back (to compare).
  std::vector<long long> stored_ids;
  if (large) stored_ids = select_ids(sql, "SELECT id FROM rules ORDER BY id", {});
  auto may_be_stored = [&](long long id) {
    return !large || std::binary_search(stored_ids.begin(), stored_ids.end(), id);
  };
  std::unordered_set<long long> assigned_ids;  // to the new rules of the write that came without one
  long long highest_explicit_id = 0;
  RuleById stored_rule(sql);
  auto& batch = prepared.rule_insert_batch();
  batch.discard();  // rows of an earlier write on this session that failed before it flushed them
  for (std::size_t index = 0; index < rules.size(); ++index) {
    const sdk::Rule& rule = rules[index];
    auto which = [&] { return "rule " + std::to_string(index + 1) + " of the write"; };
    if (rule.id < 0)
      throw RequestError(sdk::ErrorCode::invalid_argument,
                         which() + " has id " + std::to_string(rule.id) + "; use 0 for a new rule");
    if (auto problem = check_operators(rule.operators))
      throw RequestError(sdk::ErrorCode::invalid_argument, which() + ": " + *problem);
    if (index == repeated_at || (rule.id > 0 && assigned_ids.count(rule.id)))
      throw RequestError(sdk::ErrorCode::invalid_argument,
                         "rule id " + std::to_string(rule.id) + " appears twice in one write");
    std::optional<sdk::Rule> stored =
        rule.id > 0 && may_be_stored(rule.id) ? stored_rule.find(rule.id) : std::nullopt;
    if (!stored) {
      auto created = rule.created_at == sdk::TimePoint{} ? now : rule.created_at;
      auto updated = rule.updated_at == sdk::TimePoint{} ? created : rule.updated_at;
      if (rule.id > 0) {
        batch.add(rule, created, updated);
        highest_explicit_id = std::max<long long>(highest_explicit_id, rule.id);
        summary.written.push_back(keys_of(rule));
      } else {
        batch.flush();  // a new id follows the highest one taken so far, those waiting in the batch too
        sdk::Rule added = rule;
        added.created_at = created;
        added.updated_at = updated;
        added.id = prepared.rule_insert_new.execute(added);
        assigned_ids.insert(added.id);
        summary.written.push_back(keys_of(added));
      }
      ++summary.added;
    } else if (same_content(*stored, rule)) {
      summary.written.push_back(keys_of(*stored));
      ++summary.unchanged;
    } else {
      sdk::Rule updated = rule;
      updated.created_at = stored->created_at;
      updated.updated_at = now;
      prepared.rule_update.execute(updated);
      summary.written.push_back(keys_of(updated));
      ++summary.updated;
    }
  }
  batch.flush();
  if (rebuild_indexes)
    for (const auto& index : rule_indexes)
      sql << std::string("CREATE INDEX ") + index[0] + " ON rules (" + index[1] + ")";
  if (!sqlite && highest_explicit_id > 0) {
    // Rows inserted with their own id do not advance the BIGSERIAL sequence; without this the next new
    // rule would be given an id that is taken. Never moved backwards: ids of deleted rules stay unused.
    sql << "SELECT setval('rules_id_seq', GREATEST(CAST(:id AS BIGINT), (SELECT last_value FROM rules_id_seq)))",
        soci::use(highest_explicit_id);
  }

  if (write.mode != sdk::RuleWriteMode::upsert) {
    std::vector<long long> named;
    named.reserve(summary.written.size());
    for (const auto& keys : summary.written) named.push_back(keys.id);
    std::sort(named.begin(), named.end());
    std::string project = write.project;
    auto candidates = write.mode == sdk::RuleWriteMode::replace_project
                          ? select_ids(sql, "SELECT id FROM rules WHERE project = :project ORDER BY id", &project)
                          : select_ids(sql, "SELECT id FROM rules ORDER BY id", nullptr);
    long long removed_id = 0;
    soci::statement remove = (sql.prepare << "DELETE FROM rules WHERE id = :id", soci::use(removed_id));
    for (long long candidate : candidates) {
      if (std::binary_search(named.begin(), named.end(), candidate)) continue;
      // Notes are kept: a note outlives its rule.
      removed_id = candidate;
      remove.execute(true);
      summary.removed_ids.push_back(candidate);
      ++summary.removed;
    }
  }

  for (std::size_t index = 0; index < write.notes.size(); ++index) {
    sdk::Note note = write.notes[index];
    if (note.rule_id <= 0)
      throw RequestError(sdk::ErrorCode::invalid_argument,
                         "note " + std::to_string(index + 1) + " of the write names no rule (rule id " +
                             std::to_string(note.rule_id) + ")");
    if (note.saved_at == sdk::TimePoint{}) note.saved_at = now;
    if (prepared.note_insert_if_absent.execute(note) != 0) ++summary.notes_added;
    else ++summary.notes_unchanged;
  }
  transaction.commit();
  return summary;
}

void Database::delete_rule(std::int64_t rule_id) {
  auto lease = pool_.acquire();
  long long id = rule_id;
  soci::statement statement = (lease->sql.prepare << "DELETE FROM rules WHERE id = :id", soci::use(id));
  statement.execute(true);
  if (statement.get_affected_rows() == 0)
    throw RequestError(sdk::ErrorCode::not_found, "no rule has id " + std::to_string(rule_id));
}

// ----- notes -----------------------------------------------------------------------------------------

sdk::Note Database::add_note(sdk::Note note, sdk::TimePoint now) {
  if (note.rule_id <= 0)
    throw RequestError(sdk::ErrorCode::invalid_argument,
                       "the note names no rule (rule id " + std::to_string(note.rule_id) + ")");
  if (note.saved_at == sdk::TimePoint{}) note.saved_at = now;
  auto lease = pool_.acquire();
  note.id = lease->prepared().note_insert.execute(note);
  return note;
}

std::vector<sdk::Note> Database::notes_for(std::int64_t rule_id) {
  auto lease = pool_.acquire();
  long long id = rule_id;
  return select_notes(lease->sql, std::string(note_select) + " WHERE rule_id = :rule_id ORDER BY saved_at DESC, id DESC",
                      [&](soci::statement& s) { s.exchange(soci::use(id)); });
}

std::vector<sdk::Note> Database::list_notes(const std::optional<std::string>& project) {
  auto lease = pool_.acquire();
  if (!project)
    return select_notes(lease->sql, std::string(note_select) + " ORDER BY rule_id, saved_at, id",
                        [](soci::statement&) {});
  return select_notes(lease->sql,
                      std::string(note_select) +
                          " WHERE rule_id IN (SELECT id FROM rules WHERE project = :project)"
                          " ORDER BY rule_id, saved_at, id",
                      [&](soci::statement& s) { s.exchange(soci::use(*project)); });
}

// ----- call log --------------------------------------------------------------------------------------

std::vector<sdk::CallRecord> Database::append_calls(std::vector<sdk::CallRecord> records) {
  if (records.empty()) return records;
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  WriteTransaction transaction(lease->prepared().transaction);
  if (target_.backend == Backend::postgresql) {
    // Sequences must become visible in order: a reader that has seen sequence N must never later find a
    // smaller one committed. One appender at a time makes commit order equal sequence order; readers
    // are not blocked. (SQLite's write lock already does this.)
    sql << "LOCK TABLE call_log IN EXCLUSIVE MODE";
  }
  lease->prepared().call_append.execute(records);
  transaction.commit();
  return records;
}

std::vector<sdk::CallRecord> Database::read_calls(std::uint64_t after_sequence, std::size_t limit) {
  if (limit == 0) return {};
  auto lease = pool_.acquire();
  long long after = to_sql_integer(after_sequence);
  long long max_rows = to_sql_integer(limit);
  long long sequence = 0, at = 0, customer_id = 0;
  soci::indicator customer_id_indicator = soci::i_null;
  std::string call_id, project, caller, operator_extension, strategy, reasons;
  int outcome = 0;
  soci::statement statement(lease->sql);
  statement.exchange(soci::into(sequence));
  statement.exchange(soci::into(at));
  statement.exchange(soci::into(call_id));
  statement.exchange(soci::into(project));
  statement.exchange(soci::into(caller));
  statement.exchange(soci::into(operator_extension));
  statement.exchange(soci::into(outcome));
  statement.exchange(soci::into(customer_id, customer_id_indicator));
  statement.exchange(soci::into(strategy));
  statement.exchange(soci::into(reasons));
  statement.exchange(soci::use(after));
  statement.exchange(soci::use(max_rows));
  std::vector<sdk::CallRecord> records;
  for_each_row(statement,
               "SELECT sequence, at, call_id, project, caller, operator_extension, outcome, customer_id, strategy, "
               "reasons FROM call_log WHERE sequence > :after ORDER BY sequence LIMIT :max_rows",
               [&] {
                 sdk::CallRecord record;
                 record.sequence = static_cast<std::uint64_t>(sequence);
                 record.at = from_millis(at);
                 record.call_id = call_id;
                 record.project = project;
                 record.caller = caller;
                 record.operator_extension = operator_extension;
                 record.outcome = outcome;
                 if (customer_id_indicator == soci::i_ok) record.customer_id = customer_id;
                 record.strategy = strategy;
                 record.reasons = decode_reasons(reasons);
                 records.push_back(std::move(record));
               });
  return records;
}

std::uint64_t Database::delete_calls_through(std::uint64_t through_sequence) {
  auto lease = pool_.acquire();
  long long through = to_sql_integer(through_sequence);
  soci::statement statement =
      (lease->sql.prepare << "DELETE FROM call_log WHERE sequence <= :through", soci::use(through));
  statement.execute(true);
  return static_cast<std::uint64_t>(statement.get_affected_rows());
}

// ----- agents and groups -----------------------------------------------------------------------------

std::vector<sdk::Agent> Database::load_agents() {
  auto lease = pool_.acquire();
  long long id = 0, start_at = 0, stop_at = 0;
  soci::indicator start_indicator = soci::i_null, stop_indicator = soci::i_null;
  std::string name, password_hash, extension, last_ip, group, role;
  int may_edit_central_list = 0, may_edit_own_list = 0, call_module = 0;
  soci::statement statement(lease->sql);
  statement.exchange(soci::into(id));
  statement.exchange(soci::into(name));
  statement.exchange(soci::into(password_hash));
  statement.exchange(soci::into(extension));
  statement.exchange(soci::into(last_ip));
  statement.exchange(soci::into(start_at, start_indicator));
  statement.exchange(soci::into(stop_at, stop_indicator));
  statement.exchange(soci::into(may_edit_central_list));
  statement.exchange(soci::into(may_edit_own_list));
  statement.exchange(soci::into(call_module));
  statement.exchange(soci::into(group));
  statement.exchange(soci::into(role));
  std::vector<sdk::Agent> agents;
  for_each_row(statement,
               "SELECT id, name, password_hash, extension, last_ip, start_at, stop_at, may_edit_central_list, "
               "may_edit_own_list, call_module, group_number, role FROM agents ORDER BY name",
               [&] {
                 sdk::Agent agent;
                 agent.id = id;
                 agent.name = name;
                 agent.password_hash = password_hash;
                 agent.extension = extension;
                 agent.last_ip = last_ip;
                 if (start_indicator == soci::i_ok) agent.start = from_millis(start_at);
                 if (stop_indicator == soci::i_ok) agent.stop = from_millis(stop_at);
                 agent.may_edit_central_list = may_edit_central_list != 0;
                 agent.may_edit_own_list = may_edit_own_list != 0;
                 agent.call_module = call_module != 0;
                 agent.group = group;
                 agent.role = role_from(role);
                 agents.push_back(std::move(agent));
               });
  return agents;
}

sdk::Agent Database::save_agent(sdk::Agent agent) {
  if (agent.name.empty()) throw RequestError(sdk::ErrorCode::invalid_argument, "an agent needs a name");
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  long long start_at = agent.start ? to_millis(*agent.start) : 0;
  long long stop_at = agent.stop ? to_millis(*agent.stop) : 0;
  soci::indicator start_indicator = agent.start ? soci::i_ok : soci::i_null;
  soci::indicator stop_indicator = agent.stop ? soci::i_ok : soci::i_null;
  int may_edit_central_list = agent.may_edit_central_list ? 1 : 0;
  int may_edit_own_list = agent.may_edit_own_list ? 1 : 0;
  int call_module = agent.call_module ? 1 : 0;
  std::string role = role_name(agent.role);

  WriteTransaction transaction(lease->prepared().transaction);
  long long id = 0;
  soci::indicator found = soci::i_null;
  sql << "SELECT id FROM agents WHERE name = :name", soci::use(agent.name), soci::into(id, found);
  if (found == soci::i_ok && sql.got_data()) {
    sql << "UPDATE agents SET password_hash = :password_hash, extension = :extension, last_ip = :last_ip, "
           "start_at = :start_at, stop_at = :stop_at, may_edit_central_list = :may_edit_central_list, "
           "may_edit_own_list = :may_edit_own_list, call_module = :call_module, group_number = :group_number, "
           "role = :role WHERE id = :id",
        soci::use(agent.password_hash), soci::use(agent.extension), soci::use(agent.last_ip),
        soci::use(start_at, start_indicator), soci::use(stop_at, stop_indicator), soci::use(may_edit_central_list),
        soci::use(may_edit_own_list), soci::use(call_module), soci::use(agent.group), soci::use(role), soci::use(id);
  } else {
    std::string insert =
        "INSERT INTO agents (name, password_hash, extension, last_ip, start_at, stop_at, may_edit_central_list, "
        "may_edit_own_list, call_module, group_number, role) VALUES (:name, :password_hash, :extension, :last_ip, "
        ":start_at, :stop_at, :may_edit_central_list, :may_edit_own_list, :call_module, :group_number, :role)";
    if (target_.backend == Backend::postgresql) {
      sql << insert + " RETURNING id", soci::use(agent.name), soci::use(agent.password_hash),
          soci::use(agent.extension), soci::use(agent.last_ip), soci::use(start_at, start_indicator),
          soci::use(stop_at, stop_indicator), soci::use(may_edit_central_list), soci::use(may_edit_own_list),
          soci::use(call_module), soci::use(agent.group), soci::use(role), soci::into(id);
    } else {
      sql << insert, soci::use(agent.name), soci::use(agent.password_hash), soci::use(agent.extension),
          soci::use(agent.last_ip), soci::use(start_at, start_indicator), soci::use(stop_at, stop_indicator),
          soci::use(may_edit_central_list), soci::use(may_edit_own_list), soci::use(call_module),
          soci::use(agent.group), soci::use(role);
      id = last_insert_id(sql, "agents");
    }
  }
  transaction.commit();
  agent.id = id;
  return agent;
}

void Database::remove_agent(const std::string& name) {
  auto lease = pool_.acquire();
  soci::statement statement = (lease->sql.prepare << "DELETE FROM agents WHERE name = :name", soci::use(name));
  statement.execute(true);
  if (statement.get_affected_rows() == 0) throw RequestError(sdk::ErrorCode::not_found, "no agent is named '" + name + "'");
}

std::vector<sdk::SaGroup> Database::load_groups() {
  auto lease = pool_.acquire();
  sdk::SaGroup row;
  soci::statement statement(lease->sql);
  statement.exchange(soci::into(row.number));
  statement.exchange(soci::into(row.name));
  statement.exchange(soci::into(row.capacity));
  std::vector<sdk::SaGroup> groups;
  for_each_row(statement, "SELECT number, name, capacity FROM sa_groups ORDER BY number",
               [&] { groups.push_back(row); });
  return groups;
}

void Database::save_group(const sdk::SaGroup& group) {
  if (group.number.empty()) throw RequestError(sdk::ErrorCode::invalid_argument, "an SA group needs a number");
  if (group.capacity < 0)
    throw RequestError(sdk::ErrorCode::invalid_argument,
                       "SA group " + group.number + " has a negative capacity (" + std::to_string(group.capacity) + ")");
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  WriteTransaction transaction(lease->prepared().transaction);
  soci::statement update = (sql.prepare << "UPDATE sa_groups SET name = :name, capacity = :capacity WHERE number = :number",
                            soci::use(group.name), soci::use(group.capacity), soci::use(group.number));
  update.execute(true);
  if (update.get_affected_rows() == 0) {
    sql << "INSERT INTO sa_groups (number, name, capacity) VALUES (:number, :name, :capacity)", soci::use(group.number),
        soci::use(group.name), soci::use(group.capacity);
  }
  transaction.commit();
}

// ----- missed calls ----------------------------------------------------------------------------------

sdk::MissedCall Database::add_missed(sdk::MissedCall call) {
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  long long at = to_millis(call.at);
  long long customer_id = call.customer_id.value_or(0);
  soci::indicator customer_indicator = call.customer_id ? soci::i_ok : soci::i_null;
  int done = call.done ? 1 : 0;
  long long id = 0;
  std::string insert =
      "INSERT INTO missed_calls (at, number, caller, agent_extension, customer_id, done) "
      "VALUES (:at, :number, :caller, :agent_extension, :customer_id, :done)";
  if (target_.backend == Backend::postgresql) {
    sql << insert + " RETURNING id", soci::use(at), soci::use(call.number), soci::use(call.caller),
        soci::use(call.agent_extension), soci::use(customer_id, customer_indicator), soci::use(done), soci::into(id);
  } else {
    sql << insert, soci::use(at), soci::use(call.number), soci::use(call.caller), soci::use(call.agent_extension),
        soci::use(customer_id, customer_indicator), soci::use(done);
    id = last_insert_id(sql, "missed_calls");
  }
  call.id = id;
  return call;
}

std::vector<sdk::MissedCall> Database::list_missed(const std::optional<std::string>& agent_extension) {
  auto lease = pool_.acquire();
  long long id = 0, at = 0, customer_id = 0;
  soci::indicator customer_indicator = soci::i_null;
  std::string number, caller, extension;
  int done = 0;
  soci::statement statement(lease->sql);
  statement.exchange(soci::into(id));
  statement.exchange(soci::into(at));
  statement.exchange(soci::into(number));
  statement.exchange(soci::into(caller));
  statement.exchange(soci::into(extension));
  statement.exchange(soci::into(customer_id, customer_indicator));
  statement.exchange(soci::into(done));
  std::string query = "SELECT id, at, number, caller, agent_extension, customer_id, done FROM missed_calls";
  if (agent_extension) {
    query += " WHERE agent_extension = :agent_extension";
    statement.exchange(soci::use(*agent_extension));
  }
  query += " ORDER BY at, id";
  std::vector<sdk::MissedCall> calls;
  for_each_row(statement, query, [&] {
    sdk::MissedCall call;
    call.id = id;
    call.at = from_millis(at);
    call.number = number;
    call.caller = caller;
    call.agent_extension = extension;
    if (customer_indicator == soci::i_ok) call.customer_id = customer_id;
    call.done = done != 0;
    calls.push_back(std::move(call));
  });
  return calls;
}

void Database::mark_missed_done(std::int64_t id) {
  auto lease = pool_.acquire();
  long long missed_id = id;
  soci::statement statement =
      (lease->sql.prepare << "UPDATE missed_calls SET done = 1 WHERE id = :id", soci::use(missed_id));
  statement.execute(true);
  if (statement.get_affected_rows() == 0)
    throw RequestError(sdk::ErrorCode::not_found, "no missed call has id " + std::to_string(id));
}

// ----- audit -----------------------------------------------------------------------------------------

void Database::append_audit(const std::vector<sdk::AuditRecord>& records) {
  if (records.empty()) return;
  auto lease = pool_.acquire();
  auto& sql = lease->sql;
  long long at = 0;
  int ok = 0;
  std::string instance, actor, command, result;
  WriteTransaction transaction(lease->prepared().transaction);
  soci::statement insert =
      (sql.prepare << "INSERT INTO audit (at, instance, actor, command, result, ok) "
                      "VALUES (:at, :instance, :actor, :command, :result, :ok)",
       soci::use(at), soci::use(instance), soci::use(actor), soci::use(command), soci::use(result), soci::use(ok));
  for (const auto& record : records) {
    at = to_millis(record.at);
    instance = record.instance;
    actor = record.actor;
    command = record.command;
    result = record.result;
    ok = record.ok ? 1 : 0;
    insert.execute(true);
  }
  transaction.commit();
}

// ----- diagnostics -----------------------------------------------------------------------------------

std::vector<SessionSettings> Database::session_settings() {
  std::vector<SessionPool::Lease> leases;
  for (std::size_t i = 0; i < pool_.size(); ++i) leases.push_back(pool_.acquire());
  std::vector<SessionSettings> all;
  for (auto& lease : leases) {
    SessionSettings settings;
    if (target_.backend == Backend::sqlite3) {
      lease->sql << "PRAGMA journal_mode", soci::into(settings.journal_mode);
      lease->sql << "PRAGMA synchronous", soci::into(settings.synchronous);
      lease->sql << "PRAGMA busy_timeout", soci::into(settings.busy_timeout_ms);
    } else {
      lease->sql << "SHOW synchronous_commit", soci::into(settings.synchronous_commit);
    }
    all.push_back(settings);
  }
  return all;
}

}  // namespace switchboard::plugins::soci_storage
