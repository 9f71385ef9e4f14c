// A fixed pool of database sessions, each with the statements prepared on it. soci::connection_pool hands
// out bare sessions; here every pooled session also owns its prepared statements (they belong to one
// connection), and a PostgreSQL session whose connection broke is reconnected before it is leased again.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include <soci/soci.h>

#include "connection.hpp"

namespace switchboard::plugins::soci_storage {

struct PreparedStatements;

struct PooledSession {
  PooledSession(const ConnectionTarget& target);
  ~PooledSession();

  // The statements prepared on this session, created at first use and kept for the session's life.
  PreparedStatements& prepared();
  // A PostgreSQL connection that is no longer usable is re-opened (and its statements prepared again).
  // Checking costs a round trip, so it is done only after an operation on the session failed.
  void reconnect_if_broken();

  const ConnectionTarget& target;
  soci::session sql;  // declared before `statements`: statements are destroyed first
  std::unique_ptr<PreparedStatements> statements;
  bool check_connection = false;  // set when a lease ended by an exception
};

// Per-session settings, applied to every new or re-opened session (durability is per connection).
void apply_session_settings(PooledSession& session);

class SessionPool {
 public:
  // Opens `size` sessions; throws soci::soci_error when the database cannot be opened.
  SessionPool(const ConnectionTarget& target, std::size_t size);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  class Lease {
   public:
    Lease(SessionPool& pool, PooledSession& session)
        : pool_(&pool), session_(&session), exceptions_(std::uncaught_exceptions()) {}
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), session_(other.session_), exceptions_(other.exceptions_) {
      other.pool_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (!pool_) return;
      // Released while an exception unwinds: the operation failed, perhaps because the connection did.
      if (std::uncaught_exceptions() > exceptions_) session_->check_connection = true;
      pool_->give_back(*session_);
    }
    PooledSession& operator*() const { return *session_; }
    PooledSession* operator->() const { return session_; }

   private:
    SessionPool* pool_;
    PooledSession* session_;
    int exceptions_;
  };

  // Waits for a free session. Throws std::runtime_error once close() has begun.
  Lease acquire();
  // Refuses new leases, waits until every leased session is back, then closes them all. Idempotent.
  void close();
  std::size_t size() const noexcept { return size_; }

 private:
  void give_back(PooledSession& session);

  std::size_t size_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<PooledSession>> sessions_;
  std::vector<PooledSession*> free_;
  bool closing_ = false;
};

}  // namespace switchboard::plugins::soci_storage
