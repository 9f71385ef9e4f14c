// A write transaction that rolls back unless committed. SOCI's own transaction sends a plain BEGIN, which
// in SQLite takes the write lock only at the first write: a transaction that reads before it writes can
// then fail with "database is locked" at once, without waiting for the busy timeout. BEGIN IMMEDIATE takes
// the lock up front and waits for it.
#pragma once

#include <soci/soci.h>

#include "connection.hpp"

namespace switchboard::plugins::soci_storage {

// BEGIN, COMMIT and ROLLBACK prepared once: a one-off statement is parsed and compiled at every use, which
// in SQLite cost some 10,000 instructions each, more than inserting a call-log row. Pooled sessions keep
// theirs in PreparedStatements.
class TransactionStatements {
 public:
  TransactionStatements(soci::session& sql, Backend backend)
      : begin_(sql.prepare << (backend == Backend::sqlite3 ? "BEGIN IMMEDIATE" : "BEGIN")),
        commit_(sql.prepare << "COMMIT"),
        rollback_(sql.prepare << "ROLLBACK") {}

  void begin() { begin_.execute(true); }
  void commit() { commit_.execute(true); }
  void rollback() { rollback_.execute(true); }

 private:
  soci::statement begin_, commit_, rollback_;
};

class WriteTransaction {
 public:
  explicit WriteTransaction(TransactionStatements& statements) : statements_(statements) { statements_.begin(); }
  ~WriteTransaction() {
    if (open_) {
      try {
        statements_.rollback();
      } catch (...) {
        // The connection is gone; the server discards the transaction with it.
      }
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  void commit() {
    statements_.commit();
    open_ = false;
  }

 private:
  TransactionStatements& statements_;
  bool open_ = true;
};

}  // namespace switchboard::plugins::soci_storage
