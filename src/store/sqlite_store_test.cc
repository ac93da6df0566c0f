#include "store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace cohost::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr ObjectKind kEndpoint = ObjectKind::kEndpoint;
constexpr ObjectKind kComponent = ObjectKind::kInferenceComponent;

// Runs SQL on the file through a separate raw connection, as a test hook for damaging the state.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::string RawQueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::vector<std::string> Names(const ObjectList& list) {
  std::vector<std::string> names;
  for (const Object& o : list.objects) names.push_back(o.name);
  return names;
}

EventQuery Query(std::string kind, std::string name, int64_t after = 0, int limit = 0,
                 bool newest = false) {
  EventQuery q;
  q.subject_kind = std::move(kind);
  q.subject_name = std::move(name);
  q.after_sequence = after;
  q.limit = limit;
  q.newest = newest;
  return q;
}

SqliteStore::Options MaxEvents(int64_t n) {
  SqliteStore::Options options;
  options.max_events = n;
  return options;
}

std::vector<int64_t> Sequences(const std::vector<Event>& events) {
  std::vector<int64_t> out;
  for (const Event& e : events) out.push_back(e.sequence);
  return out;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cohost_store_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqliteStore> OpenOrDie(SqliteStore::Options options = {}) {
    auto store = SqliteStore::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, CreateGetListWithRevisions) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Revision(), 0);

  auto main = store->Create(kEndpoint, "main", {{"name", "main"}, {"kind", "shared"}});
  ASSERT_TRUE(main.ok()) << main.status().ToString();
  EXPECT_EQ(main->revision, 1);
  EXPECT_EQ(main->create_revision, 1);
  ASSERT_TRUE(store->Create(kComponent, "zeta", {{"endpoint", "main"}}).ok());
  auto alpha = store->Create(kComponent, "alpha", {{"endpoint", "main"}, {"priority", 70}});
  ASSERT_TRUE(alpha.ok());
  EXPECT_EQ(alpha->revision, 3);
  EXPECT_EQ(*store->Revision(), 3);

  auto got = store->Get(kComponent, "alpha");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, kComponent);
  EXPECT_EQ(got->spec["priority"], 70);
  EXPECT_EQ(got->revision, 3);

  auto list = store->List(kComponent);
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(Names(*list), ElementsAre("alpha", "zeta"));
  EXPECT_EQ(list->revision, 3);
  EXPECT_THAT(Names(*store->List(kEndpoint)), ElementsAre("main"));
}

TEST_F(SqliteStoreTest, KindsHaveSeparateNames) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kEndpoint, "x", {{"a", 1}}).ok());
  ASSERT_TRUE(store->Create(kComponent, "x", {{"a", 2}}).ok());
  EXPECT_EQ(store->Get(kEndpoint, "x")->spec["a"], 1);
  EXPECT_EQ(store->Get(kComponent, "x")->spec["a"], 2);
}

TEST_F(SqliteStoreTest, CreateOfExistingNameFailsAndWritesNothing) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kEndpoint, "main", {{"v", 1}}).ok());
  auto again = store->Create(kEndpoint, "main", {{"v", 2}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().field(), "name");
  EXPECT_THAT(again.status().message(), HasSubstr("endpoint \"main\" already exists"));
  EXPECT_EQ(store->Get(kEndpoint, "main")->spec["v"], 1);
  EXPECT_EQ(*store->Revision(), 1);
}

TEST_F(SqliteStoreTest, MissingObjectsAreNotFound) {
  auto store = OpenOrDie();
  auto get = store->Get(kComponent, "nope");
  EXPECT_EQ(get.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(get.status().field(), "name");
  EXPECT_THAT(get.status().message(), HasSubstr("inference_component \"nope\" not found"));
  EXPECT_EQ(store->Update(kComponent, "nope", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Delete(kComponent, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store->Revision(), 0);
}

TEST_F(SqliteStoreTest, BadInputNamesTheField) {
  auto store = OpenOrDie();
  EXPECT_EQ(store->Create(kEndpoint, "", {}).status().field(), "name");
  auto with_revision = store->Create(kEndpoint, "e", {}, WriteOptions::AtRevision(3));
  EXPECT_EQ(with_revision.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(with_revision.status().field(), "revision");
  auto bad_utf8 = store->Create(kEndpoint, "e", {{"name", "\xff\xfe"}});
  EXPECT_EQ(bad_utf8.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_utf8.status().field(), "spec");
  EXPECT_EQ(*store->Revision(), 0);
}

TEST_F(SqliteStoreTest, UpdateAndDeleteAdvanceTheStoreRevision) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kEndpoint, "main", {{"v", 1}}).ok());
  ASSERT_TRUE(store->Create(kEndpoint, "other", {}).ok());
  auto updated = store->Update(kEndpoint, "main", {{"v", 2}});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->create_revision, 1);
  EXPECT_EQ(updated->revision, 3);
  EXPECT_EQ(store->Get(kEndpoint, "main")->spec["v"], 2);

  auto deleted = store->Delete(kEndpoint, "other");
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 4);
  EXPECT_EQ(store->Get(kEndpoint, "other").status().code(), StatusCode::kNotFound);

  // Revisions are never reused, even by a re-created name.
  auto again = store->Create(kEndpoint, "other", {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->create_revision, 5);
}

TEST_F(SqliteStoreTest, CompareAndSwap) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kComponent, "c", {{"copies", 1}}).ok());  // revision 1
  ASSERT_TRUE(store->Update(kComponent, "c", {{"copies", 2}}).ok());  // revision 2

  auto stale = store->Update(kComponent, "c", {{"copies", 3}}, WriteOptions::AtRevision(1));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.status().field(), "revision");
  EXPECT_THAT(stale.status().message(),
              HasSubstr("inference_component \"c\" is at revision 2, not the expected revision 1"));
  EXPECT_EQ(store->Get(kComponent, "c")->spec["copies"], 2);

  auto fresh = store->Update(kComponent, "c", {{"copies", 3}}, WriteOptions::AtRevision(2));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->revision, 3);

  EXPECT_EQ(store->Delete(kComponent, "c", WriteOptions::AtRevision(2)).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store->Delete(kComponent, "c", WriteOptions::AtRevision(3)).ok());
}

TEST_F(SqliteStoreTest, PreconditionKeepsAComponentsEndpoint) {
  auto store = OpenOrDie();
  WriteOptions needs_main = WriteOptions::If({Precondition::Exists(kEndpoint, "main", "endpoint")});
  auto orphan = store->Create(kComponent, "c1", {{"endpoint", "main"}}, needs_main);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(orphan.status().field(), "endpoint");
  EXPECT_THAT(orphan.status().message(), HasSubstr("endpoint \"main\" does not exist"));
  EXPECT_EQ(*store->Revision(), 0);  // a failed write changes nothing

  ASSERT_TRUE(store->Create(kEndpoint, "main", {}).ok());
  ASSERT_TRUE(store->Create(kComponent, "c1", {{"endpoint", "main"}}, needs_main).ok());

  // Deleting the endpoint: list components, see none on it (pretend), delete guarded by the list's
  // revision. A component created in between makes the delete fail instead of orphaning it.
  auto list = store->List(kComponent);
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(store->Create(kComponent, "c2", {{"endpoint", "main"}}, needs_main).ok());
  WriteOptions guard =
      WriteOptions::If({Precondition::NoneChangedSince(kComponent, list->revision)});
  auto raced = store->Delete(kEndpoint, "main", guard);
  EXPECT_EQ(raced.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(raced.status().message(),
              HasSubstr("inference_component \"c2\" changed at revision 3, after revision 2"));

  // Deletes do not count as changes.
  ASSERT_TRUE(store->Delete(kComponent, "c1").ok());
  ASSERT_TRUE(store->Delete(kComponent, "c2").ok());
  guard.preconditions[0].revision = store->List(kComponent)->revision - 1;
  EXPECT_TRUE(store->Delete(kEndpoint, "main", guard).ok());
}

TEST_F(SqliteStoreTest, AbsentAndRevisionIsPreconditions) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kEndpoint, "a", {}).ok());  // revision 1
  auto absent = store->Create(kEndpoint, "b", {},
                              WriteOptions::If({Precondition::Absent(kEndpoint, "a", "a")}));
  EXPECT_EQ(absent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(absent.status().field(), "a");
  EXPECT_TRUE(store
                  ->Create(kEndpoint, "b", {},
                           WriteOptions::If({Precondition::RevisionIs(kEndpoint, "a", 1)}))
                  .ok());
  auto wrong = store->Update(kEndpoint, "b", {},
                             WriteOptions::If({Precondition::RevisionIs(kEndpoint, "a", 7)}));
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("endpoint \"a\" is at revision 1, not the expected revision 7"));
  auto gone = store->Update(kEndpoint, "b", {},
                            WriteOptions::If({Precondition::RevisionIs(kEndpoint, "zz", 1)}));
  EXPECT_THAT(gone.status().message(), HasSubstr("endpoint \"zz\" does not exist"));
}

TEST_F(SqliteStoreTest, EventsAreOrderedAndFiltered) {
  auto store = OpenOrDie();
  const std::vector<Event> input = {
      {0, 1000, "inference_component", "a", "CopyStarted", "copy a-1 loading"},
      {0, 1001, "inference_component", "b", "CopyStarted", "copy b-1 loading"},
      {0, 1002, "endpoint", "main", "Created", "endpoint created"},
      {0, 1003, "inference_component", "a", "CopyFailed", "runner exited with code 134"},
      {0, 1004, "inference_component", "a", "ScaledOut", "2 copies"},
  };
  std::vector<int64_t> sequences;
  for (const Event& e : input) sequences.push_back(*store->AppendEvent(e));
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3, 4, 5));

  auto all = store->ListEvents({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  Event first = input[0];
  first.sequence = 1;
  EXPECT_EQ((*all)[0], first);

  EXPECT_THAT(Sequences(*store->ListEvents(Query("inference_component", ""))),
              ElementsAre(1, 2, 4, 5));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("inference_component", "a"))),
              ElementsAre(1, 4, 5));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("", "main"))), ElementsAre(3));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("", "", 3))), ElementsAre(4, 5));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("", "", 0, 2))), ElementsAre(1, 2));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("", "", 0, 2, true))), ElementsAre(4, 5));
  EXPECT_THAT(Sequences(*store->ListEvents(Query("", "a", 1, 1))), ElementsAre(4));
  EXPECT_TRUE(store->ListEvents(Query("", "nobody"))->empty());
}

TEST_F(SqliteStoreTest, ComponentEventsIncludeItsCopiesOnlyWhenAsked) {
  auto store = OpenOrDie();
  const std::vector<Event> input = {
      {0, 1, "inference_component", "alpha", "Created", "created"},
      {0, 2, "copy", "alpha-1", "CopyPlaced", "placed"},
      {0, 3, "copy", "alpha-beta-1", "CopyPlaced", "another component's copy"},
      {0, 4, "copy", "alpha-12", "CopyReady", "ready"},
      {0, 5, "inference_component", "alpha-1", "Created", "a component named like a copy"},
      {0, 6, "copy", "alpha-2x", "CopyPlaced", "not a copy id of alpha"},
  };
  for (const Event& e : input) ASSERT_TRUE(store->AppendEvent(e).ok());
  EventQuery q = Query("", "alpha");
  EXPECT_THAT(Sequences(*store->ListEvents(q)), ElementsAre(1));
  q.include_copies = true;
  EXPECT_THAT(Sequences(*store->ListEvents(q)), ElementsAre(1, 2, 4));
  q.newest = true;
  q.limit = 2;
  EXPECT_THAT(Sequences(*store->ListEvents(q)), ElementsAre(2, 4));
}

TEST_F(SqliteStoreTest, EventRetentionDropsTheOldest) {
  {
    auto store = OpenOrDie(MaxEvents(5));
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(store->AppendEvent({0, i, "endpoint", "main", "Tick", std::to_string(i)}).ok());
    }
    EXPECT_THAT(Sequences(*store->ListEvents({})), ElementsAre(8, 9, 10, 11, 12));
    EXPECT_EQ(*store->AppendEvent({0, 12, "endpoint", "main", "Tick", "12"}), 13);
    EXPECT_THAT(Sequences(*store->ListEvents({})), ElementsAre(9, 10, 11, 12, 13));
  }
  // A lower limit applies at the next open; sequence numbers are never reused.
  auto store = OpenOrDie(MaxEvents(2));
  EXPECT_THAT(Sequences(*store->ListEvents({})), ElementsAre(12, 13));
  EXPECT_EQ(*store->AppendEvent({0, 13, "endpoint", "main", "Tick", "13"}), 14);
}

TEST_F(SqliteStoreTest, ReopenKeepsEverything) {
  {
    auto store = OpenOrDie();
    ASSERT_TRUE(store->Create(kEndpoint, "main", {{"kind", "shared"}}).ok());
    ASSERT_TRUE(store->Create(kComponent, "c", {{"endpoint", "main"}}).ok());
    ASSERT_TRUE(store->Update(kComponent, "c", {{"endpoint", "main"}, {"copies", 3}}).ok());
    ASSERT_TRUE(store->AppendEvent({0, 5, "inference_component", "c", "Created", "hi"}).ok());
  }
  auto store = OpenOrDie();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Revision(), 3);
  auto c = store->Get(kComponent, "c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->spec["copies"], 3);
  EXPECT_EQ(c->create_revision, 2);
  EXPECT_EQ(c->revision, 3);
  EXPECT_THAT(Names(*store->List(kEndpoint)), ElementsAre("main"));
  auto events = store->ListEvents({});
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "hi");
  EXPECT_EQ(store->Create(kEndpoint, "next", {})->revision, 4);

  // The file is in WAL mode with the schema version recorded.
  EXPECT_EQ(RawQueryText(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQueryText(path_, "SELECT version FROM schema_version"), "1");
}

// A writer killed with SIGKILL at an arbitrary moment (no close, no destructors) loses no write it
// had acknowledged: the parent reopens the file and finds every one.
TEST_F(SqliteStoreTest, KilledWriterLosesNoAcknowledgedWrite) {
  constexpr int kAcksBeforeKill = 25;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: its own connection, opened after the fork. Only _exit leaves this block.
    close(fds[0]);
    auto store = SqliteStore::Open(path_);
    if (!store.ok()) _exit(2);
    for (int32_t i = 0; i < 100000; ++i) {
      std::string name = "e" + std::to_string(i);
      if (!(*store)->Create(kEndpoint, name, {{"i", i}}).ok()) _exit(3);
      if (!(*store)->AppendEvent({0, i, "endpoint", name, "Created", ""}).ok()) _exit(4);
      if (write(fds[1], &i, sizeof(i)) != static_cast<ssize_t>(sizeof(i))) _exit(5);
    }
    _exit(0);
  }
  close(fds[1]);
  int32_t acked = 0;  // writes acknowledged to us
  int32_t value = 0;
  while (acked < kAcksBeforeKill && read(fds[0], &value, sizeof(value)) == sizeof(value)) {
    ++acked;
  }
  kill(pid, SIGKILL);
  while (read(fds[0], &value, sizeof(value)) == sizeof(value)) ++acked;  // until the child is gone
  close(fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
  ASSERT_GE(acked, kAcksBeforeKill);

  auto store = OpenOrDie();
  ASSERT_TRUE(store);
  auto list = store->List(kEndpoint);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  // Every acknowledged write is there; at most the one in flight at the kill is there too.
  ASSERT_GE(list->objects.size(), static_cast<size_t>(acked));
  ASSERT_LE(list->objects.size(), static_cast<size_t>(acked) + 1);
  for (int32_t i = 0; i < acked; ++i) {
    auto e = store->Get(kEndpoint, "e" + std::to_string(i));
    ASSERT_TRUE(e.ok()) << "acknowledged write " << i << " lost: " << e.status().ToString();
    EXPECT_EQ(e->spec["i"], i);
  }
  EXPECT_EQ(list->revision, static_cast<int64_t>(list->objects.size()));
  EXPECT_GE(store->ListEvents({})->size(), static_cast<size_t>(acked));
  // And the store goes on where it stopped.
  EXPECT_EQ(store->Create(kEndpoint, "after", {})->revision, list->revision + 1);
}

TEST_F(SqliteStoreTest, ConcurrentWritersAndReaders) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  auto store = OpenOrDie();
  ASSERT_TRUE(store->Create(kEndpoint, "counter", {{"n", 0}}).ok());

  std::atomic<int> failures{0};
  std::atomic<int> cas_conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!store->Create(kComponent, name, {{"endpoint", "counter"}}).ok()) ++failures;
        // Read-modify-write with compare-and-swap, retried on conflict.
        while (true) {
          auto counter = store->Get(kEndpoint, "counter");
          if (!counter.ok()) {
            ++failures;
            break;
          }
          nlohmann::json next = {{"n", counter->spec["n"].get<int>() + 1}};
          auto updated = store->Update(kEndpoint, "counter", next,
                                       WriteOptions::AtRevision(counter->revision));
          if (updated.ok()) break;
          if (updated.status().code() != StatusCode::kFailedPrecondition) {
            ++failures;
            break;
          }
          ++cas_conflicts;
        }
      }
    });
  }
  // A reader on this thread sees snapshots that only grow.
  int64_t last_revision = 0;
  size_t last_size = 0;
  for (int i = 0; i < 20; ++i) {
    auto list = store->List(kComponent);
    ASSERT_TRUE(list.ok());
    EXPECT_GE(list->revision, last_revision);
    EXPECT_GE(list->objects.size(), last_size);
    last_revision = list->revision;
    last_size = list->objects.size();
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->List(kComponent)->objects.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(store->Get(kEndpoint, "counter")->spec["n"], kThreads * kPerThread);
  EXPECT_EQ(*store->Revision(), 1 + 2 * kThreads * kPerThread);
  RecordProperty("cas_conflicts_retried", cas_conflicts.load());
}

TEST_F(SqliteStoreTest, TwoStoresOnOneFileShareRevisions) {
  auto a = OpenOrDie();
  auto b = OpenOrDie();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Create(kEndpoint, "x", {}).ok());
  EXPECT_EQ(b->Get(kEndpoint, "x")->revision, 1);
  EXPECT_EQ(b->Create(kEndpoint, "y", {})->revision, 2);
  EXPECT_EQ(b->Create(kEndpoint, "x", {}).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(SqliteStoreTest, NotADatabaseIsAClearError) {
  {
    std::ofstream f(path_, std::ios::binary);
    f << std::string(4096, 'x') << "this is a config file, not a database\n";
  }
  auto store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr(path_));
  EXPECT_THAT(store.status().message(), HasSubstr("file is not a database"));
}

TEST_F(SqliteStoreTest, CorruptDatabaseIsAClearError) {
  {
    auto store = OpenOrDie();
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(
          store->Create(kEndpoint, "e" + std::to_string(i), {{"pad", std::string(200, 'p')}}).ok());
    }
  }  // closing checkpoints the WAL into the main file
  {
    // Overwrite page 1 after the 100-byte header: the schema table's root page.
    std::fstream f(path_, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(100);
    f << std::string(3996, '\xab');
  }
  auto store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("malformed"));
}

TEST_F(SqliteStoreTest, CorruptSpecIsDataLoss) {
  ASSERT_TRUE(OpenOrDie()->Create(kEndpoint, "main", {}).ok());
  RawExec(path_, "UPDATE objects SET spec = '{not json' WHERE name = 'main'");
  auto store = OpenOrDie();
  auto got = store->Get(kEndpoint, "main");
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("endpoint \"main\" is not valid JSON"));
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(OpenOrDie());
  RawExec(path_, "UPDATE schema_version SET version = 99");
  auto store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 99"));
  EXPECT_THAT(store.status().message(), HasSubstr("up to version 1"));
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAClearError) {
  auto store = SqliteStore::Open(dir_ + "/no/such/dir/state.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInternal);
  EXPECT_THAT(store.status().message(), HasSubstr("unable to open database file"));
  EXPECT_THAT(store.status().message(), HasSubstr("/no/such/dir/state.db"));
}

TEST(SqliteStoreMemoryTest, InMemoryStoreWorks) {
  auto store = SqliteStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Create(kEndpoint, "main", {})->revision, 1);
  EXPECT_EQ((*store)->List(kEndpoint)->objects.size(), 1u);
}

TEST(StateStoreTest, ObjectKindNamesRoundTrip) {
  for (ObjectKind kind : {kEndpoint, kComponent, ObjectKind::kDeviceClaim}) {
    EXPECT_EQ(*ParseObjectKind(ObjectKindName(kind)), kind);
  }
  auto bad = ParseObjectKind("node");
  EXPECT_EQ(bad.status().field(), "kind");
}

}  // namespace
}  // namespace cohost::store
