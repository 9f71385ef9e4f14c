// Shared by the storage_soci tests: throw-away SQLite folders and PostgreSQL schemas, and building the
// plugin's settings.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
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
  FollowedLog result;
  std::atomic<int> running{writers};
  std::vector<std::vector<std::uint64_t>> sequences(static_cast<std::size_t>(writers));
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < appends_each; ++i) {
        sdk::CallRecord record;
        record.call_id = std::to_string(w) + "-" + std::to_string(i);
        for (const auto& stored : database.append_calls({record, record, record}))
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
  result.appended = static_cast<std::size_t>(writers * appends_each * 3);
  if (all.size() != result.appended) result.sequences_distinct_and_increasing_per_writer = false;
  result.seen = seen.size();
  return result;
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

}  // namespace soci_test
