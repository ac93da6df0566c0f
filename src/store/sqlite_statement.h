// Thin RAII helpers over the SQLite C API, for SqliteStore: errors as Status, prepared statements
// that reset themselves after each use, and transactions that roll back unless committed.
//
// Thread safety: none. A connection and its statements belong to one caller at a time; SqliteStore
// serializes all use under its mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace cohost::store {

// A Status for SQLite result code `rc` on `db` (which may be null): "<context>: <SQLite's
// message>", where the context names the database and the operation, e.g. "sqlite /data/state.db:
// COMMIT". Codes: kDataLoss for a corrupt file or one that is not a database; kUnavailable when the
// database is busy or locked past the busy timeout; kResourceExhausted when the disk is full;
// kInternal otherwise (I/O errors, permissions, a file that cannot be opened).
Status SqliteError(sqlite3* db, int rc, std::string_view context);

// Runs one or more SQL statements that return no rows we need.
Status SqliteExec(sqlite3* db, const char* sql, std::string_view context);

// A prepared statement. Use it through Statement::Use, which resets it (and clears its bindings)
// when done, so it can be reused by the next call.
class Statement {
 public:
  // `where` names the database in error messages ("sqlite /data/state.db"). Errors: see
  // SqliteError.
  static StatusOr<Statement> Prepare(sqlite3* db, std::string_view where, std::string_view sql);

  Statement() = default;

  // Bindings are 1-based, as in SQLite. A failing bind is reported by the next Step.
  void Bind(int index, int64_t value);
  void Bind(int index, std::string_view value);

  // Runs one step: true when a row is available (read it with the Column* functions), false when
  // the statement is done. Errors: see SqliteError.
  StatusOr<bool> Step();
  // Steps to completion, ignoring rows.
  Status Run();

  // Columns are 0-based, as in SQLite. REQUIRES: the last Step returned true.
  int64_t ColumnInt(int index) const;
  std::string ColumnText(int index) const;

  // Resets the statement and clears its bindings.
  void Reset();

  // "<where>: <sql>", for error messages.
  std::string Context() const;

  // Resets the statement when it goes out of scope.
  class Use {
   public:
    explicit Use(Statement& s) : s_(s) {}
    ~Use() { s_.Reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    Statement* operator->() { return &s_; }

   private:
    Statement& s_;
  };

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_ = nullptr;
  std::string where_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_rc_ = SQLITE_OK;  // the first failing bind since the last reset
};

// A write transaction: BEGIN IMMEDIATE on Begin (taking the write lock at once, so the busy
// timeout applies there and never at a read-to-write upgrade), and ROLLBACK on destruction unless
// Commit succeeded.
class Transaction {
 public:
  // The statements are the connection's prepared BEGIN IMMEDIATE, COMMIT and ROLLBACK.
  Transaction(sqlite3* db, Statement& begin, Statement& commit, Statement& rollback)
      : db_(db), begin_(begin), commit_(commit), rollback_(rollback) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin();
  Status Commit();

 private:
  sqlite3* db_;
  Statement& begin_;
  Statement& commit_;
  Statement& rollback_;
  bool open_ = false;
};

}  // namespace cohost::store
