#include "store/sqlite_statement.h"

#include <utility>

namespace cohost::store {

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  // The connection's message is more specific than sqlite3_errstr ("no such table: x" rather than
  // "SQL logic error"), but only when it belongs to this result code.
  const char* message = sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_extended_errcode(db) == rc) message = sqlite3_errmsg(db);
  std::string text = std::string(context) + ": " + message;
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(text));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(text));
    case SQLITE_FULL:
      return Status(StatusCode::kResourceExhausted, std::move(text));
    default:
      return Internal(std::move(text));
  }
}

Status SqliteExec(sqlite3* db, const char* sql, std::string_view context) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  sqlite3_free(error);  // the same text as sqlite3_errmsg, which SqliteError reads
  if (rc != SQLITE_OK) return SqliteError(db, rc, context);
  return Status::Ok();
}

StatusOr<Statement> Statement::Prepare(sqlite3* db, std::string_view where, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteError(db, rc, std::string(where) + ": prepare \"" + std::string(sql) + "\"");
  }
  Statement s;
  s.db_ = db;
  s.where_ = where;
  s.stmt_.reset(raw);
  return s;
}

void Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::Bind(int index, std::string_view value) {
  // SQLITE_TRANSIENT: SQLite copies the bytes, so `value` need not outlive the statement's use.
  int rc = sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(), SQLITE_TRANSIENT,
                               SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

StatusOr<bool> Statement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteError(db_, bind_rc_, Context() + ": bind");
  }
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, Context());
}

std::string Statement::Context() const { return where_ + ": " + sqlite3_sql(stmt_.get()); }

Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_.get(), index); }

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), index);
  int size = sqlite3_column_bytes(stmt_.get(), index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

void Statement::Reset() {
  // sqlite3_reset repeats the last step's error code; that error was already reported by Step.
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_rc_ = SQLITE_OK;
}

Transaction::~Transaction() {
  // After some errors (an I/O error, a full disk) SQLite has already rolled back by itself;
  // sqlite3_get_autocommit tells whether a transaction is still open.
  if (open_ && sqlite3_get_autocommit(db_) == 0) {
    Statement::Use use(rollback_);
    (void)use->Run();  // nothing more to do if even the rollback fails
  }
}

Status Transaction::Begin() {
  Statement::Use use(begin_);
  RETURN_IF_ERROR(use->Run());
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  Statement::Use use(commit_);
  RETURN_IF_ERROR(use->Run());
  open_ = false;
  return Status::Ok();
}

}  // namespace cohost::store
