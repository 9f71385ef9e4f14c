// The plugin's own tests with SQLite: configuration, lifecycle, opening failures, migrations, durability
// settings, transactions that fail inside the database, concurrency through the pool; and the helpers.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <soci/sqlite3/soci-sqlite3.h>

#include "codec.hpp"
#include "connection.hpp"
#include "database.hpp"
#include "schema.hpp"
#include "session_pool.hpp"
#include "test_support.hpp"

namespace {

using namespace soci_test;
namespace store = switchboard::plugins::soci_storage;
using sdk::ConfigNode;

std::vector<sdk::Diagnostic> validation_errors(const ConfigNode& config) {
  sdk::Diagnostics diag;
  auto settings = sdk::apply_schema(factory().schema(), config, "storage.main.config", diag);
  if (settings) factory().validate(*settings, diag);
  return diag.errors();
}

int count_rows(const std::string& file, const std::string& table) {
  soci::session sql(*soci::factory_sqlite3(), file);
  int rows = 0;
  sql << "SELECT COUNT(*) FROM " + table, soci::into(rows);  // table: a constant of the test
  return rows;
}

sdk::Rule sample_rule(std::string company) {
  sdk::Rule rule;
  rule.project = "100";
  rule.company = std::move(company);
  rule.callers = {"115", "", ""};
  rule.callers_normalised = {"115", "", ""};
  rule.operators = {"114"};
  return rule;
}

// ----- configuration ---------------------------------------------------------------------------------

TEST(SociStorageConfig, PassesTheConfigConformance) {
  sdk::testing::expect_config_conformance(factory(), ConfigNode::map({}));
}

TEST(SociStorageConfig, DefaultsToAnSqliteFileUnderVar) {
  auto settings = settings_for(ConfigNode::map({}));
  EXPECT_EQ(settings.string("connection"), "sqlite3://var/switchboard.db");
  EXPECT_EQ(settings.integer("pool_size"), 4);
  EXPECT_EQ(settings.duration("busy_timeout"), std::chrono::seconds(5));
  EXPECT_FALSE(settings.has("password"));
  EXPECT_TRUE(factory().schema().find("password")->secret);
}

TEST(SociStorageConfig, RefusesAPasswordInsideTheConnectionString) {
  auto errors = validation_errors(ConfigNode::map(
      {{"connection", "postgresql://host=db1 dbname=cc user=switchboard password=hunter2"}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "storage.main.config.connection");
  EXPECT_NE(errors[0].message.find("put it in the `password` key"), std::string::npos) << errors[0].message;
  EXPECT_EQ(errors[0].message.find("hunter2"), std::string::npos) << "the refusal repeats the password";
}

TEST(SociStorageConfig, RefusesAQuotedPasswordWithSpacesWithoutQuotingIt) {
  auto errors = validation_errors(
      ConfigNode::map({{"connection", "postgresql://host=db1 PASSWORD = 'correct horse' user=x"}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.find("horse"), std::string::npos) << errors[0].message;
}

TEST(SociStorageConfig, RefusesUnknownBackendsAndUris) {
  auto unknown = validation_errors(ConfigNode::map({{"connection", "mysql://db1/cc"}}));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown[0].message.find("sqlite3://PATH or postgresql://"), std::string::npos) << unknown[0].message;
  auto uri = validation_errors(ConfigNode::map({{"connection", "postgresql://switchboard@db1/cc"}}));
  ASSERT_EQ(uri.size(), 1u);
  EXPECT_NE(uri[0].message.find("libpq keywords"), std::string::npos) << uri[0].message;
  auto broken = validation_errors(ConfigNode::map({{"connection", "postgresql://host='db1"}}));
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_NE(broken[0].message.find("cannot be parsed"), std::string::npos) << broken[0].message;
}

TEST(SociStorageConfig, RefusesSqlitePathsSociWouldMisread) {
  EXPECT_EQ(validation_errors(ConfigNode::map({{"connection", "sqlite3://"}})).size(), 1u);
  EXPECT_EQ(validation_errors(ConfigNode::map({{"connection", "sqlite3://:memory:"}})).size(), 1u);
  EXPECT_EQ(validation_errors(ConfigNode::map({{"connection", "sqlite3://db=x.db"}})).size(), 1u);
  EXPECT_TRUE(validation_errors(ConfigNode::map({{"connection", "sqlite3:///srv/switchboard/cc.db"}})).empty());
}

TEST(SociStorageConfig, RefusesAPasswordForSqlite) {
  auto errors = validation_errors(ConfigNode::map({{"password", "x"}}));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "storage.main.config.password");
}

TEST(SociStorageConfig, LimitsThePoolSize) {
  EXPECT_EQ(validation_errors(ConfigNode::map({{"pool_size", "0"}})).size(), 1u);
  EXPECT_EQ(validation_errors(ConfigNode::map({{"pool_size", "65"}})).size(), 1u);
  EXPECT_TRUE(validation_errors(ConfigNode::map({{"pool_size", "64"}})).empty());
}

TEST(SociStorageConnection, AddsThePasswordQuotedOnlyForTheBackend) {
  auto parsed = store::parse_connection("postgresql://host=db1 user=cc");
  ASSERT_TRUE(parsed.target);
  parsed.target->password = R"(it's a \secret)";
  EXPECT_EQ(parsed.target->display(), "host=db1 user=cc");
  EXPECT_EQ(parsed.target->backend_connect_string(), R"(host=db1 user=cc password='it\'s a \\secret')");
  EXPECT_EQ(store::redact("failed for it's a \\secret!", parsed.target->password), "failed for ***!");
}

// ----- helpers -----------------------------------------------------------------------------------------

TEST(SociStorageCodec, KeepsTimesToTheMillisecond) {
  auto t = sdk::TimePoint(std::chrono::microseconds(1'700'000'000'123'999));
  EXPECT_EQ(store::to_millis(t), 1'700'000'000'123);
  EXPECT_EQ(store::from_millis(1'700'000'000'123), sdk::TimePoint(std::chrono::milliseconds(1'700'000'000'123)));
  EXPECT_EQ(store::to_millis(sdk::TimePoint(std::chrono::microseconds(-1))), -1) << "floor, not toward zero";
}

TEST(SociStorageCodec, OperatorsRoundTripAndRefuseWhatCannot) {
  std::vector<std::string> operators{"114", "116", "120"};
  EXPECT_EQ(store::join_operators(operators), "114;116;120");
  EXPECT_EQ(store::split_operators("114;116;120"), operators);
  EXPECT_TRUE(store::split_operators("").empty());
  EXPECT_TRUE(store::check_operators({"114", ""}).has_value());
  EXPECT_TRUE(store::check_operators({"114;115"}).has_value());
  EXPECT_FALSE(store::check_operators(operators).has_value());
}

TEST(SociStorageCodec, ReasonsRoundTripExactly) {
  std::string json;
  for (const std::vector<std::string>& reasons : std::vector<std::vector<std::string>>{
           {}, {""}, {"a", "b"}, {"line\nbreak", "tab\t\"quoted\"", "Čeština"}}) {
    store::encode_reasons(reasons, json);
    EXPECT_EQ(store::decode_reasons(json), reasons) << json;
  }
  EXPECT_THROW(store::decode_reasons("not json"), std::runtime_error);
}

// The stored format is what nlohmann::json's dump() wrote before the encoder was written by hand:
// stored logs and exports depend on it, invalid UTF-8 (replaced by U+FFFD) included.
TEST(SociStorageCodec, ReasonsAreEncodedByteForByteAsNlohmannJsonDumpsThem) {
  auto dumped = [](const std::vector<std::string>& reasons) {
    return nlohmann::json(reasons).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::vector<std::vector<std::string>> cases{
      {}, {""}, {"", ""}, {"plain", "Čeština ŘÍČANY", "日本語", "emoji \xF0\x9F\x93\x9E"},
      {"quote \" backslash \\ slash / del \x7F"}, {"\b\f\n\r\t\x01\x1f\x0b"},
      {"overlong \xC0\xAF", "surrogate \xED\xA0\x80", "too high \xF4\x90\x80\x80", "cut \xE2\x82"},
      {"lone continuation \x80 and lead \xC3", "valid \xC3\xA9"}};
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes += static_cast<char>(c);
  cases.push_back({all_bytes});
  std::mt19937 random(8);
  for (int i = 0; i < 2000; ++i) {  // random bytes, mostly high ones, near-UTF-8 by chance
    std::string text;
    for (int k = static_cast<int>(random() % 12); k > 0; --k)
      text += static_cast<char>(random() % 3 ? 0x80 + random() % 0x80 : random() % 0x80);
    cases.push_back({"ok", text});
  }
  std::string json;
  for (const auto& reasons : cases) {
    store::encode_reasons(reasons, json);
    ASSERT_EQ(json, dumped(reasons));
  }
}

TEST(SociStorageCodec, FoldsCaseBeyondAscii) {
  EXPECT_EQ(store::fold_case("ČEDOK Žluťoučký ŘÍČANY"), "čedok žluťoučký říčany");
  EXPECT_EQ(store::fold_case("ŁÓDŹ ÄÖÜ ÉÈ"), "łódź äöü éè");
  EXPECT_EQ(store::fold_case("МОСКВА"), "москва");
  EXPECT_EQ(store::fold_case("× stays, 50%_x"), "× stays, 50%_x");
  EXPECT_EQ(store::fold_case("\xff\xfe"), "\xff\xfe") << "bytes that are not UTF-8 pass unchanged";
}

// ----- lifecycle -----------------------------------------------------------------------------------------

TEST(SociStorage, PassesTheLifecycleConformance) {
  TemporaryFolder folder;
  sdk::testing::expect_lifecycle_conformance(factory(),
                                             ConfigNode::map({{"connection", "sqlite3://" + folder.file("l.db")}}));
}

TEST(SociStorage, RefusesOperationsBeforeStart) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("s.db")));
  auto rules = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) { storage.list_rules(std::nullopt, done); });
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().code, sdk::ErrorCode::unavailable);
  EXPECT_EQ(rules.error().message, "the storage is not started");
}

TEST(SociStorage, StopWhileStartingCancelsTheStartOnce) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("s.db")));
  std::vector<sdk::Status> starts, stops;
  storage.start([&](sdk::Status s) { starts.push_back(s); });
  storage.start([&](sdk::Status s) { starts.push_back(s); });  // joins the first
  storage.stop([&](sdk::Status s) { stops.push_back(s); });
  ctx.run();
  ASSERT_EQ(starts.size(), 2u);
  for (const auto& s : starts) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, sdk::ErrorCode::cancelled);
  }
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_TRUE(stops[0].ok());
  auto again = wait_status(ctx, [&](sdk::Completion done) { storage.start(done); });
  EXPECT_FALSE(again.ok()) << "a stopped storage does not start again";
}

TEST(SociStorage, LogsStartAndStopWithoutSecrets) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("s.db")));
  ASSERT_TRUE(start(ctx, storage).ok());
  ASSERT_TRUE(stop(ctx, storage).ok());
  EXPECT_TRUE(ctx.logger().contains("storage starting backend=sqlite3 database=\"" + folder.file("s.db") + "\""));
  EXPECT_TRUE(ctx.logger().contains("storage started schema_version=" + std::to_string(store::latest_schema_version()) +
                                    " migrated_from=0"));
  EXPECT_TRUE(ctx.logger().contains("storage stopped"));
}

// ----- opening -------------------------------------------------------------------------------------------

TEST(SociStorage, CreatesAMissingParentFolder) {
  TemporaryFolder folder;
  std::string file = folder.file("var/lib/switchboard/cc.db");
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(file));
  auto started = start(ctx, storage);
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(SociStorage, ResolvesARelativePathFromTheWorkingDirectory) {
  TemporaryFolder folder;
  auto previous = std::filesystem::current_path();
  std::filesystem::current_path(folder.path());
  {
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, sqlite_settings("var/relative.db"));
    auto started = start(ctx, storage);
    EXPECT_TRUE(started.ok()) << started.error().message;
    stop(ctx, storage);
  }
  std::filesystem::current_path(previous);
  EXPECT_TRUE(std::filesystem::exists(folder.path() / "var" / "relative.db"));
}

TEST(SociStorage, ExplainsADatabaseThatCannotBeOpened) {
  TemporaryFolder folder;
  std::filesystem::create_directories(folder.path() / "x.db");  // a folder where the file should be
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("x.db")));
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, sdk::ErrorCode::unavailable);
  EXPECT_EQ(started.error().message, "cannot open database " + folder.file("x.db") + ": unable to open database file");
  EXPECT_TRUE(ctx.logger().contains("storage start failed"));
  auto again = wait_status(ctx, [&](sdk::Completion done) { storage.start(done); });
  ASSERT_FALSE(again.ok()) << "a second start() reports the first's result";
  EXPECT_EQ(again.error().message, started.error().message);
  EXPECT_TRUE(stop(ctx, storage).ok());
}

TEST(SociStorage, ExplainsAFileThatIsNotADatabase) {
  TemporaryFolder folder;
  std::ofstream(folder.file("notes.txt")) << std::string(4096, 'x');
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("notes.txt")));
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message, "cannot open database " + folder.file("notes.txt") + ": file is not a database");
}

TEST(SociStorage, ExplainsAParentFolderThatCannotBeCreated) {
  TemporaryFolder folder;
  std::ofstream(folder.file("blocker")) << "a file, not a folder";
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("blocker/cc.db")));
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message.rfind("cannot open database " + folder.file("blocker/cc.db") +
                                              ": cannot create the folder " + folder.file("blocker"),
                                          0),
            0u)
      << started.error().message;
}

// ----- migrations ------------------------------------------------------------------------------------

TEST(SociStorage, AppliesMigrationsOnceAndKeepsDataAcrossRestarts) {
  TemporaryFolder folder;
  std::string file = folder.file("cc.db");
  std::int64_t id = 0;
  {
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, sqlite_settings(file));
    ASSERT_TRUE(start(ctx, storage).ok());
    auto written = wait_for<sdk::RuleWriteSummary>(
        ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{{sample_rule("Kept")}, {}, {}, {}}, done); });
    ASSERT_TRUE(written.ok()) << written.error().message;
    id = written->written.at(0).id;
    ASSERT_TRUE(stop(ctx, storage).ok());
  }
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(file));
  ASSERT_TRUE(start(ctx, storage).ok());
  EXPECT_TRUE(ctx.logger().contains("migrated_from=" + std::to_string(store::latest_schema_version())));
  auto rules = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) { storage.get_rules({id}, done); });
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ(rules->front().company, "Kept");
  ASSERT_TRUE(stop(ctx, storage).ok());
  EXPECT_EQ(count_rows(file, "schema_version"), store::latest_schema_version());
}

TEST(SociStorage, RefusesADatabaseWithANewerSchema) {
  TemporaryFolder folder;
  std::string file = folder.file("cc.db");
  {
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, sqlite_settings(file));
    ASSERT_TRUE(start(ctx, storage).ok());
    ASSERT_TRUE(stop(ctx, storage).ok());
  }
  int newer = store::latest_schema_version() + 1;
  {
    soci::session sql(*soci::factory_sqlite3(), file);
    sql << "INSERT INTO schema_version (version, description, applied_at) VALUES (:v, 'from the future', 0)",
        soci::use(newer);
  }
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(file));
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message, "database schema version " + std::to_string(newer) +
                                         " is newer than this build supports (" +
                                         std::to_string(store::latest_schema_version()) + "); upgrade switchboard");
  EXPECT_EQ(count_rows(file, "schema_version"), store::latest_schema_version() + 1) << "nothing was migrated";
}

TEST(SociStorage, ConcurrentOpeningsMigrateOnce) {
  TemporaryFolder folder;
  store::ConnectionTarget target = *store::parse_connection("sqlite3://" + folder.file("race.db")).target;
  std::vector<std::string> failures(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < failures.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        store::Database database(target, 1);
        database.close();
      } catch (...) {
        failures[i] = store::describe_open_failure(target).message;
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_EQ(count_rows(folder.file("race.db"), "schema_version"), store::latest_schema_version());
}

// ----- durability and the pool ----------------------------------------------------------------------

TEST(SociStorage, EverySessionUsesWalSynchronousFullAndTheBusyTimeout) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, settings_for(ConfigNode::map({{"connection", "sqlite3://" + folder.file("d.db")},
                                                         {"pool_size", "3"},
                                                         {"busy_timeout", "250ms"}})));
  ASSERT_TRUE(start(ctx, storage).ok());
  auto sessions = wait_for<std::vector<store::SessionSettings>>(ctx, [&](auto done) { storage.session_settings(done); });
  ASSERT_TRUE(sessions.ok()) << sessions.error().message;
  ASSERT_EQ(sessions->size(), 3u);
  for (const auto& session : *sessions) {
    EXPECT_EQ(session.journal_mode, "wal");
    EXPECT_EQ(session.synchronous, 2) << "2 = FULL";
    EXPECT_EQ(session.busy_timeout_ms, 250);
  }
}

TEST(SociStorage, ReportsALockedDatabaseAsBusyAfterTheTimeout) {
  TemporaryFolder folder;
  std::string file = folder.file("busy.db");
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, settings_for(ConfigNode::map({{"connection", "sqlite3://" + file}, {"busy_timeout", "50ms"}})));
  ASSERT_TRUE(start(ctx, storage).ok());
  soci::session other(*soci::factory_sqlite3(), file);
  other << "BEGIN IMMEDIATE";  // another process holds the write lock
  sdk::CallRecord record;
  record.call_id = "c1";
  auto appended = wait_for<std::vector<sdk::CallRecord>>(ctx, [&](auto done) { storage.append_calls({record}, done); });
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(appended.error().code, sdk::ErrorCode::busy);
  EXPECT_EQ(appended.error().message, "cannot append to the call log in " + file + ": database is locked");
  other << "ROLLBACK";
  appended = wait_for<std::vector<sdk::CallRecord>>(ctx, [&](auto done) { storage.append_calls({record}, done); });
  EXPECT_TRUE(appended.ok()) << "the storage recovers once the lock is gone: " << appended.error().message;
}

TEST(SociStorage, AWriteThatTheDatabaseRefusesHalfWayLeavesNothing) {
  TemporaryFolder folder;
  std::string file = folder.file("cc.db");
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(file));
  ASSERT_TRUE(start(ctx, storage).ok());
  {
    soci::session sql(*soci::factory_sqlite3(), file);
    sql << "CREATE TRIGGER refuse_poison BEFORE INSERT ON notes WHEN NEW.text = 'poison' "
           "BEGIN SELECT RAISE(ABORT, 'poisoned note'); END";
  }
  sdk::Note good, poison;
  good.rule_id = poison.rule_id = 1;
  good.text = "fine";
  poison.text = "poison";
  auto written = wait_for<sdk::RuleWriteSummary>(ctx, [&](auto done) {
    storage.write_rules(sdk::RuleWrite{{sample_rule("A"), sample_rule("B")}, {good, poison}, {}, {}}, done);
  });
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().message, "cannot write rules in " + file + ": poisoned note");
  EXPECT_EQ(count_rows(file, "rules"), 0);
  EXPECT_EQ(count_rows(file, "notes"), 0);
}

TEST(SociStorage, CallBatchesOfEverySizeKeepTheirOrderAndConsecutiveSequences) {
  TemporaryFolder folder;
  store::Database database(*store::parse_connection("sqlite3://" + folder.file("calls.db")).target, 2);
  expect_call_batches_stored_in_order(database, 0);
  EXPECT_EQ(database.delete_calls_through(938), 938u);
  expect_call_batches_stored_in_order(database, 938);  // cleared sequences are never given again
  database.close();
}

TEST(SociStorage, AReaderFollowingTheCallLogMissesNoRecordWhileSessionsAppend) {
  TemporaryFolder folder;
  store::Database database(*store::parse_connection("sqlite3://" + folder.file("calls.db")).target, 4);
  auto log = follow_while_appending(database, 3, 30);
  EXPECT_TRUE(log.sequences_distinct_and_increasing_per_writer);
  EXPECT_EQ(log.seen, log.appended) << "the reader skipped records that became visible after later ones";
  database.close();
}

}  // namespace

// Rules with ids of their own are inserted 50 to a statement; those without one take the next free id,
// above every id given before them in the write (the rows waiting in a batch are inserted first).
TEST(SociStorage, AWriteMixingBatchedNewRulesWithAssignedIdsUpdatesAndUnchangedRules) {
  for (std::size_t count : {std::size_t{133}, std::size_t{20'017}}) {  // below and above a large write
    SCOPED_TRACE(count);
    TemporaryFolder folder;
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, sqlite_settings(folder.file("cc.db")));
    ASSERT_TRUE(start(ctx, storage).ok());
    auto assigned = expect_mixed_write(ctx, storage, count);
    EXPECT_EQ(assigned, (std::vector<std::int64_t>{1000 + 10 * 59 + 1, 1000 + 10 * 74 + 1}));
  }
}

TEST(SociStorage, ARefusedWriteLeavesNoBatchedRulesForTheNextWrite) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, settings_for(ConfigNode::map({{"connection", "sqlite3://" + folder.file("cc.db")},
                                                        {"pool_size", "1"}})));
  ASSERT_TRUE(start(ctx, storage).ok());
  expect_refused_write_leaves_no_batched_rules(ctx, storage);
}

TEST(SociStorage, ARuleNamingTheIdGivenToANewRuleOfTheSameWriteIsRefused) {
  TemporaryFolder folder;
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(folder.file("cc.db")));
  ASSERT_TRUE(start(ctx, storage).ok());
  EXPECT_EQ(expect_assigned_id_named_again_refused(ctx, storage), "cannot write rules: rule id 8 appears twice in one write");
}

// A large write rebuilds the number indexes instead of inserting into them; refused or not, they stay.
TEST(SociStorage, ALargeWriteKeepsItsIndexesWhetherItIsRefusedOrNot) {
  TemporaryFolder folder;
  std::string file = folder.file("cc.db");
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, sqlite_settings(file));
  ASSERT_TRUE(start(ctx, storage).ok());
  auto index_count = [&] {
    soci::session sql(*soci::factory_sqlite3(), file);
    int n = 0;
    sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rules' AND name LIKE 'rules_%'",
        soci::into(n);
    return n;
  };
  std::vector<sdk::Rule> rules;
  for (int i = 1; i <= 25'000; ++i) {
    auto r = sample_rule("C" + std::to_string(i));
    r.id = i;
    r.callers_normalised[0] = "+420602" + std::to_string(100000 + i);
    rules.push_back(r);
  }
  auto refused = rules;
  refused.push_back(refused.front());  // the same id twice: refused at the very end
  auto failed = wait_for<sdk::RuleWriteSummary>(ctx, [&](auto done) {
    storage.write_rules(sdk::RuleWrite{refused, {}, {}, {}}, done);
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(count_rows(file, "rules"), 0);
  EXPECT_EQ(index_count(), 4);
  auto written = wait_for<sdk::RuleWriteSummary>(ctx, [&](auto done) {
    storage.write_rules(sdk::RuleWrite{rules, {}, {}, {}}, done);
  });
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written->added, 25'000u);
  EXPECT_EQ(count_rows(file, "rules"), 25'000);
  EXPECT_EQ(index_count(), 4);
  auto found = wait_for<std::vector<sdk::Rule>>(ctx, [&](auto done) {
    sdk::RuleQuery q;
    q.number_normalised = "+420602112345";
    storage.search_rules(q, done);
  });
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().id, 12'345);
}

// Pooled SQLite sessions run in SQLite's multi-thread mode: no connection mutex taken in every call (a lease
// gives a session to one thread at a time). Checked in a fresh process, as the host is: other tests of this
// binary open SQLite directly, which fixes the mode for the rest of their process.
TEST(SociStorage, PooledSqliteSessionsTakeNoConnectionMutex) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TemporaryFolder folder;
  auto target = *store::parse_connection("sqlite3://" + folder.file("mode.db")).target;
  EXPECT_EXIT(
      {
        store::SessionPool pool(target, 1);
        auto lease = pool.acquire();
        auto* backend = static_cast<soci::sqlite3_session_backend*>(lease->sql.get_backend());
        std::exit(sqlite_api::sqlite3_db_mutex(backend->conn_) == nullptr ? 0 : 3);
      },
      testing::ExitedWithCode(0), "");
}
