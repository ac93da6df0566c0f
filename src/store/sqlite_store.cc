#include "store/sqlite_store.h"

#include <utility>

namespace cohost::store {
namespace {

// Version 1. Objects of all kinds share one table keyed by (kind, name); WITHOUT ROWID keeps each
// row in the primary-key b-tree, so List reads in name order with no sort. Events use
// AUTOINCREMENT so a sequence number is never reused, even after the newest events are trimmed
// or deleted.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE store_revision (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL
);
INSERT INTO store_revision (id, revision) VALUES (1, 0);
CREATE TABLE objects (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE TABLE events (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  subject_kind TEXT NOT NULL,
  subject_name TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL
);
)sql";

std::string Describe(ObjectKind kind, std::string_view name) {
  return std::string(ObjectKindName(kind)) + " \"" + std::string(name) + "\"";
}

Status FailedPrecondition(std::string message, std::string field) {
  return Status(StatusCode::kFailedPrecondition, std::move(message), std::move(field));
}

StatusOr<std::string> SerializeSpec(const nlohmann::json& spec) {
  if (spec.is_discarded()) return InvalidArgument("spec", "is a discarded JSON value");
  try {
    return spec.dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("spec", std::string("cannot be stored: ") + e.what());
  }
}

}  // namespace

struct SqliteStore::Statements {
  Statement begin_read;   // BEGIN: a consistent snapshot for reads that take several statements
  Statement begin_write;  // BEGIN IMMEDIATE
  Statement commit;
  Statement rollback;
  Statement get_object;
  Statement list_objects;
  Statement read_stamp;
  Statement changed_since;
  Statement read_revision;
  Statement bump_revision;
  Statement insert_object;
  Statement update_object;
  Statement delete_object;
  Statement insert_event;
  Statement trim_events;
  Statement list_events_oldest;
  Statement list_events_newest;
};

SqliteStore::SqliteStore(std::string path, const Options& options)
    : path_(std::move(path)), where_("sqlite " + path_), options_(options) {}

SqliteStore::~SqliteStore() {
  stmts_.reset();  // every statement must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                         const Options& options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  std::lock_guard<std::mutex> lock(store->mu_);
  // The connection is used under mu_ only, so SQLite's own per-connection mutex is not needed.
  int rc =
      sqlite3_open_v2(path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // On failure SQLite still returns a handle (closed by the destructor) holding the message.
  if (rc != SQLITE_OK) return SqliteError(store->db_, rc, store->where_ + ": open");
  RETURN_IF_ERROR(store->Configure());
  RETURN_IF_ERROR(store->PrepareSchema());
  RETURN_IF_ERROR(store->PrepareStatements());
  RETURN_IF_ERROR(store->TrimEvents());  // Options::max_events may be lower than last time
  return store;
}

Status SqliteStore::Configure() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms < 0 ? 0 : options_.busy_timeout_ms);

  // WAL: readers never block the writer, and a commit appends to the log instead of rewriting
  // pages. The mode is persistent in the file; setting it again is cheap. This is also the first
  // statement that reads the file, so a file that is not a database fails here (SQLITE_NOTADB).
  ASSIGN_OR_RETURN(Statement wal, Statement::Prepare(db_, where_, "PRAGMA journal_mode=WAL"));
  Statement::Use use(wal);
  ASSIGN_OR_RETURN(bool row, use->Step());
  std::string mode = row ? use->ColumnText(0) : "";
  if (mode != "wal" && !(path_ == ":memory:" && mode == "memory")) {
    return Internal(where_ + ": cannot use WAL journal mode (got \"" + mode + "\")");
  }

  // synchronous=FULL, because an acknowledged change must never be lost. In WAL mode, NORMAL
  // fsyncs only at checkpoints: every commit survives a crash of this process (the WAL is in the
  // OS page cache), but the latest commits may vanish if the machine loses power or the kernel
  // panics. FULL fsyncs the WAL at every commit, so a write that returned OK is on disk. Writes to
  // desired state are rare (people and the autoscaler), so the cost of one fsync each is fine.
  return SqliteExec(db_, "PRAGMA synchronous=FULL", where_ + ": PRAGMA synchronous=FULL");
}

Status SqliteStore::PrepareSchema() {
  const std::string context = where_ + ": schema";
  // One write transaction, so two processes opening a new file at once cannot both create it.
  RETURN_IF_ERROR(SqliteExec(db_, "BEGIN IMMEDIATE", context));
  Status status = [&]() -> Status {
    RETURN_IF_ERROR(SqliteExec(
        db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", context));
    ASSIGN_OR_RETURN(Statement read,
                     Statement::Prepare(db_, where_, "SELECT version FROM schema_version"));
    Statement::Use use(read);
    ASSIGN_OR_RETURN(bool row, use->Step());
    if (!row) {
      RETURN_IF_ERROR(SqliteExec(db_, kSchemaV1, context));
      return SqliteExec(db_, "INSERT INTO schema_version (version) VALUES (1)", context);
    }
    int64_t version = use->ColumnInt(0);
    if (version > kSchemaVersion) {
      return FailedPrecondition(where_ + ": the state was written with schema " + "version " +
                                    std::to_string(version) +
                                    ", but this build of cohost reads only up to version " +
                                    std::to_string(kSchemaVersion),
                                "");
    }
    // Migrations from older versions go here when there are any.
    return Status::Ok();
  }();
  if (status.ok()) status = SqliteExec(db_, "COMMIT", context);
  if (!status.ok() && sqlite3_get_autocommit(db_) == 0) {
    (void)SqliteExec(db_, "ROLLBACK", context);
  }
  return status;
}

// The columns and filter of both ListEvents statements (macros, to concatenate literals). An empty
// string matches any kind or name.
#define COHOST_EVENT_COLUMNS "sequence, time_ms, subject_kind, subject_name, reason, message"
#define COHOST_EVENT_FILTER \
  "sequence > ?1 AND (?2 = '' OR subject_kind = ?2) AND (?3 = '' OR subject_name = ?3 OR "        \
  "(?5 AND subject_kind = 'copy' AND subject_name GLOB ?3 || '-[0-9]*' AND "                     \
  "subject_name NOT GLOB ?3 || '-*[^0-9]*'))"

Status SqliteStore::PrepareStatements() {
  auto s = std::make_unique<Statements>();
  struct Entry {
    Statement* statement;
    const char* sql;
  };
  const Entry entries[] = {
      {&s->begin_read, "BEGIN"},
      {&s->begin_write, "BEGIN IMMEDIATE"},
      {&s->commit, "COMMIT"},
      {&s->rollback, "ROLLBACK"},
      {&s->get_object,
       "SELECT name, spec, create_revision, revision FROM objects WHERE kind = ?1 AND name = ?2"},
      {&s->list_objects,
       "SELECT name, spec, create_revision, revision FROM objects WHERE kind = ?1 ORDER BY name"},
      {&s->read_stamp,
       "SELECT create_revision, revision FROM objects WHERE kind = ?1 AND name = ?2"},
      {&s->changed_since,
       "SELECT name, revision FROM objects WHERE kind = ?1 AND revision > ?2 "
       "ORDER BY revision LIMIT 1"},
      {&s->read_revision, "SELECT revision FROM store_revision WHERE id = 1"},
      {&s->bump_revision, "UPDATE store_revision SET revision = revision + 1 WHERE id = 1"},
      {&s->insert_object,
       "INSERT INTO objects (kind, name, spec, create_revision, revision) "
       "VALUES (?1, ?2, ?3, ?4, ?4)"},
      {&s->update_object,
       "UPDATE objects SET spec = ?3, revision = ?4 WHERE kind = ?1 AND name = ?2"},
      {&s->delete_object, "DELETE FROM objects WHERE kind = ?1 AND name = ?2"},
      {&s->insert_event,
       "INSERT INTO events (time_ms, subject_kind, subject_name, reason, message) "
       "VALUES (?1, ?2, ?3, ?4, ?5)"},
      // Sequence numbers are consecutive (AUTOINCREMENT, and only the oldest are ever deleted),
      // so keeping those above MAX - N keeps exactly N (a gap would only keep fewer), with one
      // range delete on the primary key.
      {&s->trim_events,
       "DELETE FROM events WHERE sequence <= (SELECT MAX(sequence) FROM events) - ?1"},
      {&s->list_events_oldest,
       "SELECT " COHOST_EVENT_COLUMNS " FROM events WHERE " COHOST_EVENT_FILTER
       " ORDER BY sequence LIMIT ?4"},
      {&s->list_events_newest,
       "SELECT * FROM (SELECT " COHOST_EVENT_COLUMNS " FROM events WHERE " COHOST_EVENT_FILTER
       " ORDER BY sequence DESC LIMIT ?4) ORDER BY sequence"},
  };
#undef COHOST_EVENT_COLUMNS
#undef COHOST_EVENT_FILTER
  for (const Entry& e : entries) {
    ASSIGN_OR_RETURN(*e.statement, Statement::Prepare(db_, where_, e.sql));
  }
  stmts_ = std::move(s);
  return Status::Ok();
}

StatusOr<SqliteStore::Stamp> SqliteStore::ReadStamp(ObjectKind kind, std::string_view name) {
  Statement::Use use(stmts_->read_stamp);
  use->Bind(1, ObjectKindName(kind));
  use->Bind(2, name);
  ASSIGN_OR_RETURN(bool row, use->Step());
  if (!row) return Stamp{};
  return Stamp{true, use->ColumnInt(0), use->ColumnInt(1)};
}

StatusOr<int64_t> SqliteStore::ReadRevision() {
  Statement::Use use(stmts_->read_revision);
  ASSIGN_OR_RETURN(bool row, use->Step());
  if (!row) return DataLoss(where_ + ": the store_revision row is missing");
  return use->ColumnInt(0);
}

StatusOr<int64_t> SqliteStore::NextRevision() {
  {
    Statement::Use use(stmts_->bump_revision);
    RETURN_IF_ERROR(use->Run());
  }
  return ReadRevision();
}

Status SqliteStore::CheckWriteOptions(ObjectKind kind, std::string_view name, const Stamp& stamp,
                                      const WriteOptions& options) {
  if (options.expected_revision && *options.expected_revision != stamp.revision) {
    return FailedPrecondition(Describe(kind, name) + " is at revision " +
                                  std::to_string(stamp.revision) + ", not the expected revision " +
                                  std::to_string(*options.expected_revision),
                              "revision");
  }
  for (const Precondition& p : options.preconditions) RETURN_IF_ERROR(CheckPrecondition(p));
  return Status::Ok();
}

Status SqliteStore::CheckPrecondition(const Precondition& p) {
  if (p.type == Precondition::Type::kNoneChangedSince) {
    Statement::Use use(stmts_->changed_since);
    use->Bind(1, ObjectKindName(p.kind));
    use->Bind(2, p.revision);
    ASSIGN_OR_RETURN(bool row, use->Step());
    if (!row) return Status::Ok();
    return FailedPrecondition(Describe(p.kind, use->ColumnText(0)) + " changed at revision " +
                                  std::to_string(use->ColumnInt(1)) + ", after revision " +
                                  std::to_string(p.revision),
                              p.field);
  }
  ASSIGN_OR_RETURN(Stamp stamp, ReadStamp(p.kind, p.name));
  switch (p.type) {
    case Precondition::Type::kExists:
      if (!stamp.exists)
        return FailedPrecondition(Describe(p.kind, p.name) + " does not exist", p.field);
      return Status::Ok();
    case Precondition::Type::kAbsent:
      if (stamp.exists) return FailedPrecondition(Describe(p.kind, p.name) + " exists", p.field);
      return Status::Ok();
    case Precondition::Type::kRevisionIs:
      if (!stamp.exists) {
        return FailedPrecondition(Describe(p.kind, p.name) + " does not exist (expected at " +
                                      "revision " + std::to_string(p.revision) + ")",
                                  p.field);
      }
      if (stamp.revision != p.revision) {
        return FailedPrecondition(Describe(p.kind, p.name) + " is at revision " +
                                      std::to_string(stamp.revision) +
                                      ", not the expected revision " + std::to_string(p.revision),
                                  p.field);
      }
      return Status::Ok();
    case Precondition::Type::kNoneChangedSince:
      break;  // handled above
  }
  return Status::Ok();
}

StatusOr<Object> SqliteStore::ReadObjectRow(Statement::Use& use, ObjectKind kind) {
  Object object;
  object.kind = kind;
  object.name = use->ColumnText(0);
  try {
    object.spec = nlohmann::json::parse(use->ColumnText(1));
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(where_ + ": the stored spec of " + Describe(kind, object.name) +
                    " is not valid JSON: " + e.what());
  }
  object.create_revision = use->ColumnInt(2);
  object.revision = use->ColumnInt(3);
  return object;
}

StatusOr<Object> SqliteStore::Create(ObjectKind kind, std::string_view name,
                                     const nlohmann::json& spec, const WriteOptions& options) {
  if (name.empty()) return InvalidArgument("name", "must not be empty");
  if (options.expected_revision) {
    return InvalidArgument("revision", "a create cannot expect a revision: there is no object yet");
  }
  ASSIGN_OR_RETURN(std::string text, SerializeSpec(spec));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_, stmts_->begin_write, stmts_->commit, stmts_->rollback);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(Stamp stamp, ReadStamp(kind, name));
  if (stamp.exists) {
    return Status(StatusCode::kAlreadyExists,
                  Describe(kind, name) + " already exists (at revision " +
                      std::to_string(stamp.revision) + ")",
                  "name");
  }
  RETURN_IF_ERROR(CheckWriteOptions(kind, name, stamp, options));
  ASSIGN_OR_RETURN(int64_t revision, NextRevision());
  {
    Statement::Use use(stmts_->insert_object);
    use->Bind(1, ObjectKindName(kind));
    use->Bind(2, name);
    use->Bind(3, text);
    use->Bind(4, revision);
    RETURN_IF_ERROR(use->Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return Object{kind, std::string(name), spec, revision, revision};
}

StatusOr<Object> SqliteStore::Get(ObjectKind kind, std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement::Use use(stmts_->get_object);
  use->Bind(1, ObjectKindName(kind));
  use->Bind(2, name);
  ASSIGN_OR_RETURN(bool row, use->Step());
  if (!row) return Status(StatusCode::kNotFound, Describe(kind, name) + " not found", "name");
  return ReadObjectRow(use, kind);
}

StatusOr<ObjectList> SqliteStore::List(ObjectKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  // One read transaction, so the objects and the revision come from the same snapshot.
  Transaction txn(db_, stmts_->begin_read, stmts_->commit, stmts_->rollback);
  RETURN_IF_ERROR(txn.Begin());
  ObjectList list;
  {
    Statement::Use use(stmts_->list_objects);
    use->Bind(1, ObjectKindName(kind));
    while (true) {
      ASSIGN_OR_RETURN(bool row, use->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Object object, ReadObjectRow(use, kind));
      list.objects.push_back(std::move(object));
    }
  }
  ASSIGN_OR_RETURN(list.revision, ReadRevision());
  RETURN_IF_ERROR(txn.Commit());
  return list;
}

StatusOr<Object> SqliteStore::Update(ObjectKind kind, std::string_view name,
                                     const nlohmann::json& spec, const WriteOptions& options) {
  ASSIGN_OR_RETURN(std::string text, SerializeSpec(spec));
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_, stmts_->begin_write, stmts_->commit, stmts_->rollback);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(Stamp stamp, ReadStamp(kind, name));
  if (!stamp.exists)
    return Status(StatusCode::kNotFound, Describe(kind, name) + " not found", "name");
  RETURN_IF_ERROR(CheckWriteOptions(kind, name, stamp, options));
  ASSIGN_OR_RETURN(int64_t revision, NextRevision());
  {
    Statement::Use use(stmts_->update_object);
    use->Bind(1, ObjectKindName(kind));
    use->Bind(2, name);
    use->Bind(3, text);
    use->Bind(4, revision);
    RETURN_IF_ERROR(use->Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return Object{kind, std::string(name), spec, stamp.create_revision, revision};
}

StatusOr<int64_t> SqliteStore::Delete(ObjectKind kind, std::string_view name,
                                      const WriteOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_, stmts_->begin_write, stmts_->commit, stmts_->rollback);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(Stamp stamp, ReadStamp(kind, name));
  if (!stamp.exists)
    return Status(StatusCode::kNotFound, Describe(kind, name) + " not found", "name");
  RETURN_IF_ERROR(CheckWriteOptions(kind, name, stamp, options));
  ASSIGN_OR_RETURN(int64_t revision, NextRevision());
  {
    Statement::Use use(stmts_->delete_object);
    use->Bind(1, ObjectKindName(kind));
    use->Bind(2, name);
    RETURN_IF_ERROR(use->Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return revision;
}

StatusOr<int64_t> SqliteStore::Revision() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadRevision();
}

Status SqliteStore::TrimEvents() {
  if (options_.max_events <= 0) return Status::Ok();
  Statement::Use use(stmts_->trim_events);
  use->Bind(1, options_.max_events);
  return use->Run();
}

StatusOr<int64_t> SqliteStore::AppendEvent(const Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(db_, stmts_->begin_write, stmts_->commit, stmts_->rollback);
  RETURN_IF_ERROR(txn.Begin());
  {
    Statement::Use use(stmts_->insert_event);
    use->Bind(1, event.time_ms);
    use->Bind(2, event.subject_kind);
    use->Bind(3, event.subject_name);
    use->Bind(4, event.reason);
    use->Bind(5, event.message);
    RETURN_IF_ERROR(use->Run());
  }
  // The connection is ours alone under mu_, so the last rowid is this insert's.
  int64_t sequence = sqlite3_last_insert_rowid(db_);
  RETURN_IF_ERROR(TrimEvents());
  RETURN_IF_ERROR(txn.Commit());
  return sequence;
}

StatusOr<std::vector<Event>> SqliteStore::ListEvents(const EventQuery& query) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement::Use use(query.newest ? stmts_->list_events_newest : stmts_->list_events_oldest);
  use->Bind(1, query.after_sequence);
  use->Bind(2, query.subject_kind);
  use->Bind(3, query.subject_name);
  use->Bind(4, static_cast<int64_t>(query.limit > 0 ? query.limit : -1));  // -1: no limit
  use->Bind(5, static_cast<int64_t>(query.include_copies ? 1 : 0));
  std::vector<Event> events;
  while (true) {
    ASSIGN_OR_RETURN(bool row, use->Step());
    if (!row) break;
    events.push_back(Event{use->ColumnInt(0), use->ColumnInt(1), use->ColumnText(2),
                           use->ColumnText(3), use->ColumnText(4), use->ColumnText(5)});
  }
  return events;
}

}  // namespace cohost::store
