// The plugin's own tests with PostgreSQL: the secret password key, durable commits, migrations and
// concurrency against a real server (ctest starts it; see tests/postgres/). Skipped when
// SWITCHBOARD_TEST_POSTGRES is not set.
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "database.hpp"
#include "schema.hpp"
#include "test_support.hpp"

namespace {

using namespace soci_test;
namespace store = switchboard::plugins::soci_storage;
using sdk::ConfigNode;

class SociStoragePostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = postgres_server();
    if (!server) GTEST_SKIP() << "SWITCHBOARD_TEST_POSTGRES is not set (ctest sets it and starts the server)";
    schema_ = std::make_unique<PostgresSchema>(*server);
  }
  PostgresSchema& schema() { return *schema_; }
  PostgresServer schema_server() { return schema_->server(); }
  int schema_versions() {
    int rows = 0;
    *schema().session() << "SELECT COUNT(*) FROM schema_version", soci::into(rows);
    return rows;
  }

 private:
  std::unique_ptr<PostgresSchema> schema_;
};

TEST_F(SociStoragePostgres, OpensWithThePasswordKeyAndCommitsSynchronously) {
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  // The server's setting is turned off for these sessions; the storage must turn it back on.
  SociStorage storage(ctx, schema().settings("-c synchronous_commit=off"));
  auto started = start(ctx, storage);
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto sessions = wait_for<std::vector<store::SessionSettings>>(ctx, [&](auto done) { storage.session_settings(done); });
  ASSERT_TRUE(sessions.ok()) << sessions.error().message;
  ASSERT_EQ(sessions->size(), 4u);
  for (const auto& session : *sessions) EXPECT_EQ(session.synchronous_commit, "on");
  for (const auto& line : ctx.logger().lines)
    EXPECT_EQ(line.text.find(schema().server().password), std::string::npos) << "logged the password: " << line.text;
  EXPECT_TRUE(stop(ctx, storage).ok());
}

TEST_F(SociStoragePostgres, AWrongPasswordFailsTheStartWithoutShowingThePassword) {
  const std::string wrong = "not-the-password-7d1f";
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, settings_for(ConfigNode::map({{"connection", schema().connection()}, {"password", wrong}})));
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, sdk::ErrorCode::unavailable);
  EXPECT_EQ(started.error().message.rfind("cannot open database " + schema().connection().substr(13) + ": ", 0), 0u)
      << started.error().message;
  EXPECT_NE(started.error().message.find("password authentication failed"), std::string::npos)
      << started.error().message;
  EXPECT_EQ(started.error().message.find(wrong), std::string::npos);
  for (const auto& line : ctx.logger().lines) EXPECT_EQ(line.text.find(wrong), std::string::npos) << line.text;
}

TEST_F(SociStoragePostgres, AppliesMigrationsOnceAndRefusesANewerSchema) {
  for (int run = 0; run < 2; ++run) {
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, schema().settings());
    auto started = start(ctx, storage);
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_TRUE(stop(ctx, storage).ok());
  }
  EXPECT_EQ(schema_versions(), store::latest_schema_version());

  int newer = store::latest_schema_version() + 1;
  *schema().session() << "INSERT INTO schema_version (version, description, applied_at) VALUES (:v, 'future', 0)",
      soci::use(newer);
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, schema().settings());
  auto started = start(ctx, storage);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message, "database schema version " + std::to_string(newer) +
                                         " is newer than this build supports (" +
                                         std::to_string(store::latest_schema_version()) + "); upgrade switchboard");
}

TEST_F(SociStoragePostgres, ConcurrentOpeningsMigrateOnce) {
  store::ConnectionTarget target = *store::parse_connection(schema().connection()).target;
  target.password = schema().server().password;
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
  EXPECT_EQ(schema_versions(), store::latest_schema_version());
}

TEST_F(SociStoragePostgres, AReaderFollowingTheCallLogMissesNoRecordWhileSessionsAppend) {
  store::ConnectionTarget target = *store::parse_connection(schema().connection()).target;
  target.password = schema().server().password;
  store::Database database(target, 4);
  auto log = follow_while_appending(database, 3, 30);
  EXPECT_TRUE(log.sequences_distinct_and_increasing_per_writer);
  EXPECT_EQ(log.seen, log.appended) << "the reader skipped records that became visible after later ones";
  database.close();
}

TEST_F(SociStoragePostgres, CallBatchesOfEverySizeKeepTheirOrderAndConsecutiveSequences) {
  store::ConnectionTarget target = *store::parse_connection(schema().connection()).target;
  target.password = schema().server().password;
  store::Database database(target, 2);
  expect_call_batches_stored_in_order(database, 0);
  EXPECT_EQ(database.delete_calls_through(938), 938u);
  expect_call_batches_stored_in_order(database, 938);  // cleared sequences are never given again
  database.close();
}

TEST_F(SociStoragePostgres, ImportedIdsAdvanceTheRuleSequence) {
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, schema().settings());
  ASSERT_TRUE(start(ctx, storage).ok());
  sdk::Rule imported;
  imported.id = 41;
  imported.company = "imported";
  sdk::Rule fresh;
  fresh.company = "fresh";
  auto first = wait_for<sdk::RuleWriteSummary>(
      ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{{imported}, {}, {}, {}}, done); });
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = wait_for<sdk::RuleWriteSummary>(
      ctx, [&](auto done) { storage.write_rules(sdk::RuleWrite{{fresh}, {}, {}, {}}, done); });
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->written.at(0).id, 42) << "the next id follows the highest imported one";
}

TEST_F(SociStoragePostgres, AWriteMixingBatchedNewRulesWithAssignedIdsUpdatesAndUnchangedRules) {
  for (std::size_t count : {std::size_t{133}, std::size_t{20'017}}) {  // below and above a large write
    SCOPED_TRACE(count);
    PostgresSchema schema(schema_server());
    sdk::testing::FakeContext ctx("main", sdk::Category::storage);
    SociStorage storage(ctx, schema.settings());
    ASSERT_TRUE(start(ctx, storage).ok());
    auto assigned = expect_mixed_write(ctx, storage, count);
    EXPECT_EQ(assigned, (std::vector<std::int64_t>{8, 9})) << "from the sequence, after the stored 5, 6 and 7";
  }
}

TEST_F(SociStoragePostgres, ARefusedWriteLeavesNoBatchedRulesForTheNextWrite) {
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, settings_for(ConfigNode::map({{"connection", schema().connection()},
                                                        {"password", schema().server().password},
                                                        {"pool_size", "1"}})));
  ASSERT_TRUE(start(ctx, storage).ok());
  expect_refused_write_leaves_no_batched_rules(ctx, storage);
}

TEST_F(SociStoragePostgres, ARuleNamingTheIdGivenToANewRuleOfTheSameWriteIsRefused) {
  sdk::testing::FakeContext ctx("main", sdk::Category::storage);
  SociStorage storage(ctx, schema().settings());
  ASSERT_TRUE(start(ctx, storage).ok());
  EXPECT_EQ(expect_assigned_id_named_again_refused(ctx, storage), "cannot write rules: rule id 8 appears twice in one write");
}

TEST_F(SociStoragePostgres, ReconnectsAfterTheServerDroppedTheSession) {
  // Named, so that only this session is ended (other tests may run at the same time).
  std::string application = schema().name();
  store::ConnectionTarget target =
      *store::parse_connection(schema().connection() + " application_name=" + application).target;
  target.password = schema().server().password;
  store::Database database(target, 1);
  ASSERT_TRUE(database.read_calls(0, 1).empty());
  // Another session ends ours, as a server restart or an idle timeout would.
  int ended = 0;
  *schema().session() << "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name",
      soci::use(application), soci::into(ended);
  ASSERT_EQ(ended, 1);
  EXPECT_ANY_THROW(database.read_calls(0, 1)) << "the first use after the drop reports the failure";
  EXPECT_TRUE(database.read_calls(0, 1).empty()) << "the next use reconnects";
  database.close();
}

}  // namespace
