// Shared by the storage_soci tests: throw-away SQLite folders and PostgreSQL schemas, and building the
// plugin's settings.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>
#include <string>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include "database.hpp"
#include "soci_storage.hpp"
#include "switchboard/sdk/testing/conformance.hpp"

namespace soci_test {

namespace sdk = switchboard::sdk;
using switchboard::plugins::SociStorage;

inline const sdk::FactoryFor<SociStorage>& factory() {
  static const sdk::FactoryFor<SociStorage> instance("soci", "test");
  return instance;
}

inline std::string unique_suffix() {
  static std::atomic<int> counter{0};
  static const auto seed = std::random_device{}();
  return std::to_string(::getpid()) + "_" + std::to_string(seed % 100000) + "_" + std::to_string(counter++);
}

// A new empty folder under the system's temporary directory, removed with its contents when destroyed.
class TemporaryFolder {
 public:
  TemporaryFolder()
      : path_(std::filesystem::temp_directory_path() / ("switchboard-storage-test-" + unique_suffix())) {
    std::filesystem::create_directories(path_);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline sdk::Settings settings_for(const sdk::ConfigNode& config) {
  return sdk::testing::settings_for(factory(), config);
}

inline sdk::Settings sqlite_settings(const std::string& file) {
  return settings_for(sdk::ConfigNode::map({{"connection", "sqlite3://" + file}}));
}

// The server the PostgreSQL tests use. ctest starts one and sets SWITCHBOARD_TEST_POSTGRES (the connection
// without its password); the password comes from SWITCHBOARD_TEST_POSTGRES_PASSWORD, else the fixture's.
struct PostgresServer {
  std::string connection;  // postgresql://host=… port=… dbname=… user=…
  std::string password;
  std::string keywords_with_password() const {
    return connection.substr(std::string("postgresql://").size()) + " password=" +
           switchboard::plugins::soci_storage::quote_libpq_value(password);
  }
};

inline std::optional<PostgresServer> postgres_server() {
  const char* connection = std::getenv("SWITCHBOARD_TEST_POSTGRES");
  if (!connection || !*connection) return std::nullopt;
  const char* password = std::getenv("SWITCHBOARD_TEST_POSTGRES_PASSWORD");
#ifdef SWITCHBOARD_TEST_POSTGRES_DEFAULT_PASSWORD
  const char* fallback = SWITCHBOARD_TEST_POSTGRES_DEFAULT_PASSWORD;
#else
  const char* fallback = "";
#endif
  return PostgresServer{connection, password ? password : fallback};
}

// A schema of its own in the test database, so every test starts empty and tests may run in parallel;
// dropped with everything in it when destroyed. The storage reaches it through the connection's
// search_path.
class PostgresSchema {
 public:
  explicit PostgresSchema(PostgresServer server) : server_(std::move(server)), name_("sbtest_" + unique_suffix()) {
    admin() << "CREATE SCHEMA " + name_;  // a generated identifier: letters, digits and '_' only
  }
  ~PostgresSchema() {
    try {
      admin() << "DROP SCHEMA " + name_ + " CASCADE";
    } catch (...) {
      // The throw-away server is removed after the run anyway.
    }
  }
  PostgresSchema(const PostgresSchema&) = delete;
  PostgresSchema& operator=(const PostgresSchema&) = delete;

  const std::string& name() const { return name_; }
  const PostgresServer& server() const { return server_; }
  // The plugin's `connection`, confined to this schema; `extra_options` are more `-c name=value` settings.
  std::string connection(const std::string& extra_options = "") const {
    return server_.connection + " options='-c search_path=" + name_ + (extra_options.empty() ? "" : " " + extra_options) +
           "'";
  }
  sdk::Settings settings(const std::string& extra_options = "") const {
    return settings_for(sdk::ConfigNode::map({{"connection", connection(extra_options)}, {"password", server_.password}}));
  }
  // A direct session in the schema, for checks the Storage interface does not offer.
  std::unique_ptr<soci::session> session() const {
    auto s = std::make_unique<soci::session>(*soci::factory_postgresql(), server_.keywords_with_password());
    *s << "SET search_path TO " + name_;
    *s << "SET client_min_messages = warning";
    return s;
  }

 private:
  soci::session& admin() {
    if (!admin_) admin_ = std::make_unique<soci::session>(*soci::factory_postgresql(), server_.keywords_with_password());
    return *admin_;
  }

  PostgresServer server_;
  std::string name_;
  std::unique_ptr<soci::session> admin_;
};

// Appends from `writers` threads while one reader follows the log the way an exporter does
// (read_calls(after the last sequence seen)). Returns how many records the reader saw and how many were
// appended: equal only if sequences become visible in order, so that the reader never skips one that
// commits late.
struct FollowedLog {
  std::size_t seen = 0;
  std::size_t appended = 0;
  bool sequences_distinct_and_increasing_per_writer = true;
};
inline FollowedLog follow_while_appending(switchboard::plugins::soci_storage::Database& database, int writers,
                                          int appends_each) {
  constexpr std::size_t records_per_append = 67;  // several multi-row statements per append: 64 + 2 + 1
  FollowedLog result;
  std::atomic<int> running{writers};
  std::vector<std::vector<std::uint64_t>> sequences(static_cast<std::size_t>(writers));
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < appends_each; ++i) {
        sdk::CallRecord record;
        record.call_id = std::to_string(w) + "-" + std::to_string(i);
        for (const auto& stored : database.append_calls(std::vector<sdk::CallRecord>(records_per_append, record)))
          sequences[static_cast<std::size_t>(w)].push_back(stored.sequence);
      }
      --running;
    });
  std::set<std::uint64_t> seen;
  std::uint64_t last = 0;
  auto follow = [&] {
    for (const auto& record : database.read_calls(last, 10000)) {
      seen.insert(record.sequence);
      last = record.sequence;
    }
  };
  while (running > 0) follow();
  for (auto& t : threads) t.join();
  follow();
  std::set<std::uint64_t> all;
  for (const auto& own : sequences) {
    if (!std::is_sorted(own.begin(), own.end())) result.sequences_distinct_and_increasing_per_writer = false;
    all.insert(own.begin(), own.end());
  }
  result.appended = static_cast<std::size_t>(writers * appends_each) * records_per_append;
  if (all.size() != result.appended) result.sequences_distinct_and_increasing_per_writer = false;
  result.seen = seen.size();
  return result;
}

// Appends 938 records in batches around the sizes of the multi-row INSERTs (64 rows and the powers of two
// below) and checks that every record gets the next sequence, from `after_sequence` + 1 on, in the order of
// its batch, and that the log reads back exactly what was appended, in order.
inline void expect_call_batches_stored_in_order(switchboard::plugins::soci_storage::Database& database,
                                                std::uint64_t after_sequence) {
  std::vector<sdk::CallRecord> appended;
  std::uint64_t next_sequence = after_sequence + 1;
  for (std::size_t size : {1, 2, 63, 64, 65, 100, 128, 512, 3}) {
    std::vector<sdk::CallRecord> batch(size);
    for (std::size_t i = 0; i < size; ++i) {
      auto& record = batch[i];
      auto n = appended.size() + i;
      record.at = sdk::TimePoint(std::chrono::milliseconds(1'700'000'000'000 + static_cast<long long>(n)));
      record.call_id = "call-" + std::to_string(n);
      record.project = std::to_string(100 + n % 3);
      record.caller = n % 5 ? "+420602" + std::to_string(100000 + n) : "";
      record.operator_extension = n % 7 ? std::to_string(114 + n % 4) : "";
      record.outcome = static_cast<sdk::OutcomeCode>(n % 12);
      if (n % 4) record.customer_id = static_cast<std::int64_t>(n % 9);  // 0 included
      record.strategy = "project_rules";
      for (std::size_t k = 0; k < n % 5; ++k) record.reasons.push_back("reason " + std::to_string(k) + " \"of\"\n" + record.call_id);
    }
    auto stored = database.append_calls(batch);
    ASSERT_EQ(stored.size(), size);
    for (std::size_t i = 0; i < size; ++i) {
      EXPECT_EQ(stored[i].sequence, next_sequence++) << "batch of " << size << ", record " << i;
      EXPECT_EQ(stored[i].call_id, batch[i].call_id);
    }
    appended.insert(appended.end(), stored.begin(), stored.end());
  }
  auto read = database.read_calls(after_sequence, 10'000);
  ASSERT_EQ(read.size(), appended.size());
  for (std::size_t i = 0; i < read.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(read[i].sequence, appended[i].sequence);
    EXPECT_EQ(read[i].at, appended[i].at);
    EXPECT_EQ(read[i].call_id, appended[i].call_id);
    EXPECT_EQ(read[i].project, appended[i].project);
    EXPECT_EQ(read[i].caller, appended[i].caller);
    EXPECT_EQ(read[i].operator_extension, appended[i].operator_extension);
    EXPECT_EQ(read[i].outcome, appended[i].outcome);
    EXPECT_EQ(read[i].customer_id, appended[i].customer_id);
    EXPECT_EQ(read[i].strategy, appended[i].strategy);
    EXPECT_EQ(read[i].reasons, appended[i].reasons);
  }
}

// Runs one operation of `storage` on `ctx` to completion and returns what its callback received.
template <class T, class Operation>
sdk::Result<T> wait_for(sdk::testing::FakeContext& ctx, Operation operation) {
  std::optional<sdk::Result<T>> outcome;
  operation([&](sdk::Result<T> r) { outcome.emplace(std::move(r)); });
  ctx.run();
  if (!outcome) return sdk::make_error(sdk::ErrorCode::failed, "the callback never ran");
  return std::move(*outcome);
}

template <class Operation>
sdk::Status wait_status(sdk::testing::FakeContext& ctx, Operation operation) {
  std::optional<sdk::Status> outcome;
  operation([&](sdk::Status s) { outcome = std::move(s); });
  ctx.run();
  if (!outcome) return sdk::make_error(sdk::ErrorCode::failed, "the callback never ran");
  return *outcome;
}

inline sdk::Status start(sdk::testing::FakeContext& ctx, SociStorage& storage) {
  return wait_status(ctx, [&](sdk::Completion done) { storage.start(std::move(done)); });
}
inline sdk::Status stop(sdk::testing::FakeContext& ctx, SociStorage& storage) {
  return wait_status(ctx, [&](sdk::Completion done) { storage.stop(std::move(done)); });
}

// The rules of a write mixing every kind: `count` rules in all; the first two are the stored rules 5
// (unchanged) and 6 (changed), then new rules with ids of their own (1000, 1010, ...: inserted in
// batches), with two new rules without an id among them (positions 60 and 75: ids assigned).
inline std::vector<sdk::Rule> mixed_write(const std::vector<sdk::Rule>& stored, std::size_t count) {
  std::vector<sdk::Rule> rules{stored.at(0), stored.at(1)};
  rules[1].company = "changed";
  for (std::size_t i = rules.size(); i < count; ++i) {
    sdk::Rule r;
    r.id = (i == 60 || i == 75) ? 0 : static_cast<std::int64_t>(1000 + 10 * i);
    r.project = i % 3 == 0 ? "" : std::to_string(100 + i % 3);
    r.company_id = "C" + std::to_string(i);
    r.company = "Firma " + std::to_string(i) + " s.r.o.";
    r.callers = {"602 " + std::to_string(100000 + i), "", "+420 777 " + std::to_string(100000 + i)};
    r.callers_normalised = {"+420602" + std::to_string(100000 + i), "", "+420777" + std::to_string(100000 + i)};
    if (!r.project.empty()) r.operators = {"114", std::to_string(100 + i % 50)};
    r.street = "Dlouhá " + std::to_string(i);
    r.city = i % 2 ? "Praha" : "Brno";
    r.postcode = "110 00";
    r.note = i % 7 ? "" : "note " + std::to_string(i);
    if (i % 5 == 0) r.created_at = r.updated_at = sdk::TimePoint(std::chrono::milliseconds(1'600'000'000'000 + i));
    rules.push_back(std::move(r));
  }
  return rules;
}

// Writes mixed_write(count) over three stored rules (5, 6, 7) and checks the summary and every rule as
// stored, then replaces all with half of them. Returns the ids given to the two rules without one.
inline std::vector<std::int64_t> expect_mixed_write(sdk::testing::FakeContext& ctx, sdk::Storage& storage,
                                                    std::size_t count) {
  auto write = [&](std::vector<sdk::Rule> rules, sdk::RuleWriteMode mode = sdk::RuleWriteMode::upsert) {
    return wait_for<sdk::RuleWriteSummary>(
        ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{std::move(rules), {}, mode, {}}, done); });
  };
  auto list = [&] {
    return wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) { storage.list_rules(std::nullopt, done); });
  };
  std::vector<sdk::Rule> first(3);
  for (int i = 0; i < 3; ++i) {
    first[i].id = 5 + i;
    first[i].project = "100";
    first[i].company = "stored " + std::to_string(i);
    first[i].callers = first[i].callers_normalised = {"11" + std::to_string(i), "", ""};
  }
  auto written = write(first);
  EXPECT_TRUE(written.ok()) << written.error().message;
  auto before = list();
  EXPECT_TRUE(before.ok() && before->size() == 3u);
  if (!before.ok() || before->size() != 3u) return {};

  auto rules = mixed_write(*before, count);
  auto now = ctx.clock().now();
  auto summary = write(rules);
  EXPECT_TRUE(summary.ok()) << summary.error().message;
  if (!summary.ok()) return {};
  EXPECT_EQ(summary->added, count - 2);
  EXPECT_EQ(summary->updated, 1u);
  EXPECT_EQ(summary->unchanged, 1u);
  EXPECT_EQ(summary->written.size(), count);
  if (summary->written.size() != count) return {};
  std::vector<std::int64_t> assigned{summary->written[60].id, summary->written[75].id};
  std::set<std::int64_t> ids;
  for (std::size_t i = 0; i < count; ++i) {
    if (rules[i].id) {
      EXPECT_EQ(summary->written[i].id, rules[i].id) << "rule " << i;
    }
    rules[i].id = summary->written[i].id;
    EXPECT_TRUE(ids.insert(rules[i].id).second) << "id " << rules[i].id << " twice";
    EXPECT_EQ(summary->written[i].callers_normalised, rules[i].callers_normalised) << "rule " << i;
    EXPECT_EQ(summary->written[i].operators, rules[i].operators) << "rule " << i;
  }
  auto after = list();
  EXPECT_TRUE(after.ok());
  if (!after.ok()) return assigned;
  EXPECT_EQ(after->size(), count + 1) << "the write's rules and stored rule 7";
  std::map<std::int64_t, const sdk::Rule*> by_id;
  for (const auto& r : *after) by_id[r.id] = &r;
  for (std::size_t i = 0; i < count; ++i) {
    auto it = by_id.find(rules[i].id);
    EXPECT_NE(it, by_id.end()) << "rule " << i << " id " << rules[i].id;
    if (it == by_id.end()) continue;
    const auto& got = *it->second;
    const auto& want = rules[i];
    EXPECT_EQ(got.project, want.project) << i;
    EXPECT_EQ(got.company_id, want.company_id) << i;
    EXPECT_EQ(got.company, want.company) << i;
    EXPECT_EQ(got.callers, want.callers) << i;
    EXPECT_EQ(got.callers_normalised, want.callers_normalised) << i;
    EXPECT_EQ(got.operators, want.operators) << i;
    EXPECT_EQ(got.street, want.street) << i;
    EXPECT_EQ(got.city, want.city) << i;
    EXPECT_EQ(got.postcode, want.postcode) << i;
    EXPECT_EQ(got.note, want.note) << i;
    if (i == 0) {
      EXPECT_EQ(got.created_at, want.created_at);
      EXPECT_EQ(got.updated_at, want.updated_at) << "unchanged: not touched";
    } else if (i == 1) {
      EXPECT_EQ(got.created_at, want.created_at);
      EXPECT_EQ(got.updated_at, now);
    } else if (want.created_at != sdk::TimePoint{}) {
      EXPECT_EQ(got.created_at, want.created_at) << i;
      EXPECT_EQ(got.updated_at, want.updated_at) << i;
    } else {
      EXPECT_EQ(got.created_at, now) << i;
      EXPECT_EQ(got.updated_at, now) << i;
    }
  }
  auto search = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) {
    sdk::RuleQuery q;
    q.text = "FIRMA " + std::to_string(count - 1) + " S.R.O.";
    storage.search_rules(q, done);
  });
  EXPECT_TRUE(search.ok() && search->size() == 1u && search->front().id == rules[count - 1].id)
      << "the search text of a batched rule";

  // Replacing everything with every other rule of the write removes the rest, stored rule 7 included.
  std::vector<sdk::Rule> half;
  std::vector<std::int64_t> removed;
  for (std::size_t i = 0; i < count; ++i) {
    if (i % 2 == 0) half.push_back(rules[i]);
    else removed.push_back(rules[i].id);
  }
  removed.push_back(7);
  std::sort(removed.begin(), removed.end());
  auto replaced = write(half, sdk::RuleWriteMode::replace_all);
  EXPECT_TRUE(replaced.ok()) << replaced.error().message;
  if (replaced.ok()) {
    EXPECT_EQ(replaced->removed_ids, removed);
    EXPECT_EQ(replaced->unchanged, half.size());
  }
  auto last = list();
  EXPECT_TRUE(last.ok() && last->size() == half.size());
  return assigned;
}

// A rule without an id takes the next free one; a later rule of the same write naming that id is the
// same id twice, refused with nothing written. Returns the message.
inline std::string expect_assigned_id_named_again_refused(sdk::testing::FakeContext& ctx, sdk::Storage& storage) {
  auto write = [&](std::vector<sdk::Rule> rules) {
    return wait_for<sdk::RuleWriteSummary>(
        ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{std::move(rules), {}, {}, {}}, done); });
  };
  sdk::Rule seven;
  seven.id = 7;
  seven.company = "seven";
  EXPECT_TRUE(write({seven}).ok());
  sdk::Rule fresh, eight;
  fresh.company = "fresh";
  eight.id = 8;
  eight.company = "eight";
  auto refused = write({fresh, eight});
  EXPECT_FALSE(refused.ok());
  if (refused.ok()) return {};
  EXPECT_EQ(refused.error().code, sdk::ErrorCode::invalid_argument);
  auto rules = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) { storage.list_rules(std::nullopt, done); });
  EXPECT_TRUE(rules.ok() && rules->size() == 1u) << "nothing written";
  return refused.error().message;
}

// A write refused half way, with rules waiting in a batch, leaves nothing behind for the next write on the
// same session (one session: the pool of the storage under test has pool_size 1).
inline void expect_refused_write_leaves_no_batched_rules(sdk::testing::FakeContext& ctx, sdk::Storage& storage) {
  auto write = [&](std::vector<sdk::Rule> rules) {
    return wait_for<sdk::RuleWriteSummary>(
        ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{std::move(rules), {}, {}, {}}, done); });
  };
  std::vector<sdk::Rule> refused(10);
  for (int i = 0; i < 10; ++i) {
    refused[i].id = 100 + i;
    refused[i].company = "waiting " + std::to_string(i);
  }
  refused.back().id = -1;
  auto failed = write(refused);
  EXPECT_FALSE(failed.ok());
  sdk::Rule other;
  other.id = 5;
  other.company = "other";
  auto written = write({other});
  EXPECT_TRUE(written.ok()) << written.error().message;
  auto rules = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) { storage.list_rules(std::nullopt, done); });
  EXPECT_TRUE(rules.ok());
  if (!rules.ok()) return;
  EXPECT_EQ(rules->size(), 1u);
  for (const auto& r : *rules) EXPECT_EQ(r.id, 5) << r.company;
}

}  // namespace soci_test
