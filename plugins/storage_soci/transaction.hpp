// A write transaction that rolls back unless committed. SOCI's own transaction sends a plain BEGIN, which
// in SQLite takes the write lock only at the first write: a transaction that reads before it writes can
// then fail with "database is locked" at once, without waiting for the busy timeout. BEGIN IMMEDIATE takes
// the lock up front and waits for it.
#pragma once

#include <soci/soci.h>

#include "connection.hpp"

namespace switchboard::plugins::soci_storage {

class WriteTransaction {
 public:
  WriteTransaction(soci::session& sql, Backend backend) : sql_(sql) {
    sql_ << (backend == Backend::sqlite3 ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  ~WriteTransaction() {
    if (open_) {
      try {
        sql_ << "ROLLBACK";
      } catch (...) {
        // The connection is gone; the server discards the transaction with it.
      }
    }
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  void commit() {
    sql_ << "COMMIT";
    open_ = false;
  }

 private:
  soci::session& sql_;
  bool open_ = true;
};

}  // namespace switchboard::plugins::soci_storage
