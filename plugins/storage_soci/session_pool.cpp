#include "session_pool.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include "statements.hpp"

namespace switchboard::plugins::soci_storage {

namespace {

// SQLite's default "serialized" mode takes the connection's mutex in every call (every column of the million
// rules read at start) and, for its memory statistics, a global mutex in every allocation. A pooled session
// is used by one thread at a time, its lease's, which SQLite's "multi-thread" mode allows without those
// locks. The mode can only be chosen before SQLite initialises: if something else in the process used SQLite
// first, the calls fail and SQLite stays serialized, which is as correct, only slower.
bool configure_sqlite() {
  sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
  sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return true;
}

// The backends are linked in and named directly: SOCI's dynamic loader would search the file system for
// backend libraries at run time, which a plugin must not depend on.
const soci::backend_factory& factory_for(Backend backend) {
  if (backend == Backend::sqlite3) {
    [[maybe_unused]] static const bool configured = configure_sqlite();  // once, before the first connection
  }
  return backend == Backend::sqlite3 ? *soci::factory_sqlite3() : *soci::factory_postgresql();
}

}  // namespace

PooledSession::PooledSession(const ConnectionTarget& target)
    : target(target), sql(factory_for(target.backend), target.backend_connect_string()) {
  apply_session_settings(*this);
}

PooledSession::~PooledSession() = default;

PreparedStatements& PooledSession::prepared() {
  if (!statements) statements = std::make_unique<PreparedStatements>(sql, target.backend);
  return *statements;
}

void PooledSession::reconnect_if_broken() {
  if (!std::exchange(check_connection, false)) return;
  if (target.backend != Backend::postgresql || sql.is_connected()) return;
  statements.reset();  // prepared on the lost connection
  sql.reconnect();
  apply_session_settings(*this);
}

void apply_session_settings(PooledSession& session) {
  auto& sql = session.sql;
  if (session.target.backend == Backend::sqlite3) {
    // Busy timeout first, so that switching the journal mode waits for another process's lock. PRAGMAs
    // take no bound parameters; the value is an integer from the validated settings.
    sql << "PRAGMA busy_timeout = " + std::to_string(session.target.busy_timeout.count());
    std::string journal_mode;
    // Switching a new file to WAL takes it for a moment, and there SQLite answers "locked" at once instead
    // of waiting (its busy handler is skipped where waiting could deadlock): several hosts or tools opening
    // a new database together retry here, for as long as the busy timeout.
    const auto deadline = std::chrono::steady_clock::now() + session.target.busy_timeout;
    for (;;) {
      try {
        sql << "PRAGMA journal_mode = WAL", soci::into(journal_mode);
        break;
      } catch (const soci::soci_error& error) {
        if (std::string_view(error.what()).find("locked") == std::string_view::npos ||
            std::chrono::steady_clock::now() >= deadline)
          throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    if (journal_mode != "wal")
      throw std::runtime_error("the database refused WAL journal mode (it reports '" + journal_mode +
                               "'); put it on a local file system");
    // FULL: a commit is on disk when COMMIT returns, so a call record reported stored survives power loss.
    sql << "PRAGMA synchronous = FULL";
    // 64 MiB of page cache (SQLite's default is 2 MiB): a bulk import inserts into four number and project
    // indexes in random order, and without the cache every insert reads its index pages from the file.
    sql << "PRAGMA cache_size = -65536";
  } else {
    // On by default, but a server or role may have turned it off; a reported commit must be durable.
    sql << "SET synchronous_commit = on";
    // NOTICEs (e.g. "relation already exists, skipping") would go to the process's stderr.
    sql << "SET client_min_messages = warning";
  }
}

SessionPool::SessionPool(const ConnectionTarget& target, std::size_t size) : size_(size) {
  sessions_.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    sessions_.push_back(std::make_unique<PooledSession>(target));
    free_.push_back(sessions_.back().get());
  }
}

SessionPool::~SessionPool() { close(); }

SessionPool::Lease SessionPool::acquire() {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [&] { return closing_ || !free_.empty(); });
  if (closing_) throw std::runtime_error("the storage is stopping");
  PooledSession* session = free_.back();
  free_.pop_back();
  lock.unlock();
  Lease lease(*this, *session);
  session->reconnect_if_broken();  // outside the lock: it may wait on the network
  return lease;
}

void SessionPool::give_back(PooledSession& session) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(&session);
  }
  returned_.notify_all();
}

void SessionPool::close() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  returned_.notify_all();
  returned_.wait(lock, [&] { return free_.size() == sessions_.size(); });
  free_.clear();
  sessions_.clear();
}

}  // namespace switchboard::plugins::soci_storage
