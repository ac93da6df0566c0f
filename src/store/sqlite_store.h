// SqliteStore: the StateStore of one-process `cohost serve`, in one SQLite database file.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so every acknowledged write
// (a call that returned OK) has been fsynced to the write-ahead log and survives a crash of the
// process at any moment and a loss of power. Opening the file again recovers it; nothing needs to
// be closed cleanly.
//
// Schema: tables `schema_version` (one row), `store_revision` (one row: the store-wide revision),
// `objects` (kind, name, spec JSON text, create_revision, revision) and `events`. Open creates them
// in a new file and refuses a file written by a newer schema version.
//
// Thread safety: all methods may be called from any thread at once. One connection serves all
// calls, serialized by a mutex, so each call sees the effect of every call that returned before
// it. Several SqliteStore objects, even in several processes, may open the same file: SQLite's
// file locks serialize their writes and the busy timeout bounds how long one waits for another.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite_statement.h"
#include "store/state_store.h"

namespace cohost::store {

class SqliteStore final : public StateStore {
 public:
  struct Options {
    // Events kept: appending one more deletes the oldest beyond this. 0 or negative: keep all.
    int64_t max_events = 10000;
    // How long a call waits for another connection's write lock before failing kUnavailable.
    int busy_timeout_ms = 5000;
  };

  // The schema this build writes; files with a greater version are refused.
  static constexpr int64_t kSchemaVersion = 1;

  // Opens (creating if needed) the database at `path`; ":memory:" gives a private in-memory
  // database without durability, for tests of other components. The directory must exist.
  // Errors: kDataLoss when the file is not a SQLite database or is corrupt; kFailedPrecondition
  // when it was written by a newer schema version (both versions named); kUnavailable when another
  // connection holds it locked past the busy timeout; kInternal when it cannot be opened or
  // written (a missing directory, permissions, I/O errors). Messages carry the path and SQLite's
  // own message.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                     const Options& options);
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path) {
    return Open(path, Options());
  }

  // Closes the database. Nothing is lost by not getting here (a crash): see Durability.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const { return path_; }

  // StateStore. Storage errors carry SQLite's message (see SqliteError in sqlite_statement.h).
  using StateStore::Create;
  using StateStore::Delete;
  using StateStore::Update;
  StatusOr<Object> Create(ObjectKind kind, std::string_view name, const nlohmann::json& spec,
                          const WriteOptions& options) override;
  StatusOr<Object> Get(ObjectKind kind, std::string_view name) override;
  StatusOr<ObjectList> List(ObjectKind kind) override;
  StatusOr<Object> Update(ObjectKind kind, std::string_view name, const nlohmann::json& spec,
                          const WriteOptions& options) override;
  StatusOr<int64_t> Delete(ObjectKind kind, std::string_view name,
                           const WriteOptions& options) override;
  StatusOr<int64_t> Revision() override;
  StatusOr<int64_t> AppendEvent(const Event& event) override;
  StatusOr<std::vector<Event>> ListEvents(const EventQuery& query) override;

 private:
  struct Statements;
  // Where an object is and what revisions it has, read inside a transaction.
  struct Stamp {
    bool exists = false;
    int64_t create_revision = 0;
    int64_t revision = 0;
  };

  SqliteStore(std::string path, const Options& options);

  // Each REQUIRES mu_ held (Open calls them before the store is shared).
  Status Configure();
  Status PrepareSchema();
  Status PrepareStatements();
  StatusOr<Stamp> ReadStamp(ObjectKind kind, std::string_view name);
  StatusOr<int64_t> ReadRevision();
  // Checks options.expected_revision against `stamp` (the written object's), then the
  // preconditions.
  Status CheckWriteOptions(ObjectKind kind, std::string_view name, const Stamp& stamp,
                           const WriteOptions& options);
  Status CheckPrecondition(const Precondition& p);
  StatusOr<int64_t> NextRevision();
  Status TrimEvents();
  StatusOr<Object> ReadObjectRow(Statement::Use& use, ObjectKind kind);

  // Constant after construction.
  const std::string path_;
  const std::string where_;  // "sqlite <path>", to begin error messages
  const Options options_;

  std::mutex mu_;
  // Protected by mu_ (the connection and its statements are used by one caller at a time).
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace cohost::store
