#include "control/event_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/metric_names.h"
#include "store/sqlite_store.h"

namespace cohost::control {
namespace {

using ::testing::ElementsAre;

// A real SQLite store whose event writes fail while `full` is set, as on a full disk.
class FullDiskStore : public store::StateStore {
 public:
  explicit FullDiskStore(std::unique_ptr<store::SqliteStore> real) : real_(std::move(real)) {}
  bool full = false;

  StatusOr<store::Object> Create(store::ObjectKind k, std::string_view n, const nlohmann::json& s,
                                 const store::WriteOptions& o) override { return real_->Create(k, n, s, o); }
  StatusOr<store::Object> Get(store::ObjectKind k, std::string_view n) override { return real_->Get(k, n); }
  StatusOr<store::ObjectList> List(store::ObjectKind k) override { return real_->List(k); }
  StatusOr<store::Object> Update(store::ObjectKind k, std::string_view n, const nlohmann::json& s,
                                 const store::WriteOptions& o) override { return real_->Update(k, n, s, o); }
  StatusOr<int64_t> Delete(store::ObjectKind k, std::string_view n, const store::WriteOptions& o) override {
    return real_->Delete(k, n, o);
  }
  StatusOr<int64_t> Revision() override { return real_->Revision(); }
  StatusOr<int64_t> AppendEvent(const store::Event& e) override {
    if (full) return Status(StatusCode::kInternal, "database or disk is full");
    return real_->AppendEvent(e);
  }
  StatusOr<std::vector<store::Event>> ListEvents(const store::EventQuery& q) override { return real_->ListEvents(q); }

 private:
  std::unique_ptr<store::SqliteStore> real_;
};

std::unique_ptr<FullDiskStore> OpenStore() {
  auto real = store::SqliteStore::Open(":memory:");
  EXPECT_TRUE(real.ok());
  return std::make_unique<FullDiskStore>(std::move(*real));
}

store::Event CopyEvent(const std::string& copy, const std::string& reason) {
  return store::Event{0, 1000, "copy", copy, reason, reason + " " + copy};
}

std::vector<std::string> Reasons(const std::vector<store::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.subject_name + ":" + e.reason);
  return out;
}

TEST(EventLogTest, EventsRefusedByAFullStoreAreKeptCountedAndWrittenInOrderOnceItRecovers) {
  auto store = OpenStore();
  MetricsRegistry metrics;
  metric::DeclareAll(metrics);
  EventLog log(*store, {100, &metrics});
  log.Append(CopyEvent("alpha-1", "CopyReady"));
  store->full = true;
  log.Append(CopyEvent("alpha-1", "CopyExited"));
  log.Append(CopyEvent("alpha-1", "CopyRestarting"));
  EXPECT_EQ(log.pending(), 2u);
  EXPECT_EQ(metrics.Value(metric::kEventWriteFailuresTotal), 2);
  EXPECT_EQ(metrics.Value(metric::kEventsPending), 2);
  EXPECT_EQ(log.Flush(), 2u);  // still full
  EXPECT_EQ(metrics.Value(metric::kEventWriteFailuresTotal), 3);
  EXPECT_THAT(Reasons(*store->ListEvents({})), ElementsAre("alpha-1:CopyReady"));
  // Meanwhile the pending ones can be shown (the events API adds them).
  store::EventQuery q;
  q.subject_name = "alpha";
  q.include_copies = true;
  EXPECT_THAT(Reasons(log.Pending(q)), ElementsAre("alpha-1:CopyExited", "alpha-1:CopyRestarting"));
  q.include_copies = false;
  EXPECT_TRUE(log.Pending(q).empty());

  store->full = false;
  EXPECT_EQ(log.Flush(), 0u);
  EXPECT_THAT(Reasons(*store->ListEvents({})),
              ElementsAre("alpha-1:CopyReady", "alpha-1:CopyExited", "alpha-1:CopyRestarting"));
  EXPECT_EQ(metrics.Value(metric::kEventsPending), 0);
  // A new event after recovery comes after the ones that waited.
  log.Append(CopyEvent("alpha-1", "CopyReady"));
  EXPECT_EQ(store->ListEvents({})->back().reason, "CopyReady");
  EXPECT_EQ(store->ListEvents({})->size(), 4u);
}

TEST(EventLogTest, AFullQueueDropsTheOldestAndCountsThem) {
  auto store = OpenStore();
  MetricsRegistry metrics;
  metric::DeclareAll(metrics);
  EventLog log(*store, {2, &metrics});
  store->full = true;
  log.Append(CopyEvent("a-1", "One"));
  log.Append(CopyEvent("a-1", "Two"));
  log.Append(CopyEvent("a-1", "Three"));
  EXPECT_EQ(metrics.Value(metric::kEventsDroppedTotal), 1);
  store->full = false;
  EXPECT_EQ(log.Flush(), 0u);
  EXPECT_THAT(Reasons(*store->ListEvents({})), ElementsAre("a-1:Two", "a-1:Three"));
}

}  // namespace
}  // namespace cohost::control
