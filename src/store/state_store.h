// StateStore: durable desired state (endpoints, inference components) and the event log.
//
// The store keeps each object as an opaque JSON spec under (kind, name). It does not parse or
// validate specs; the control layer does (core/component.h). SQLite implements it now
// (store/sqlite_store.h); etcd will implement it later for fleets, so every operation here maps
// onto an etcd v3 request:
//
//   Create/Update/Delete with WriteOptions   ->  one Txn: compares, then put or delete
//   Get/List                                 ->  Range
//   revision                                 ->  etcd's store-wide revision (header.revision)
//   Object::create_revision / revision       ->  etcd's create_revision / mod_revision
//
// Revisions. The store has one revision counter for all objects of all kinds. Every successful
// Create, Update and Delete increments it by one and stamps the object with the new value, so
// revisions only grow, are never reused (even after a delete) and order all changes.
//
// References between objects. A component names its endpoint in its spec, but the store does not
// read specs, so it does not enforce that reference by itself. Instead every write takes
// Preconditions checked atomically with the write (an etcd Txn's compares), which is enough for
// the control layer to keep references intact against concurrent writers:
//   - creating or updating a component:
//       Create(kInferenceComponent, name, spec,
//              WriteOptions::If({Precondition::Exists(kEndpoint, ep, "endpoint")}))
//     fails kFailedPrecondition naming "endpoint" when the endpoint is missing;
//   - deleting an endpoint: List(kInferenceComponent), check that none names the endpoint, then
//       Delete(kEndpoint, ep,
//              WriteOptions::If({Precondition::NoneChangedSince(kInferenceComponent,
//                                                               list.revision)}))
//     and on kFailedPrecondition list again and retry.
//
// Events. An append-only log of what happened (a copy failed, a component scaled out), each with
// a store-assigned sequence number that only grows and is never reused. Implementations may drop
// the oldest events to bound the log (see SqliteStore::Options::max_events).
//
// Durability: when a write returns OK it is acknowledged, and survives a crash of the process (and,
// for SqliteStore, a loss of power) at any later moment.
//
// Thread safety: implementations must be safe to call from any thread concurrently.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace cohost::store {

// The kinds of object the store keeps.
enum class ObjectKind {
  kEndpoint,            // "endpoint"
  kInferenceComponent,  // "inference_component"
  // "device_claim": a device a dedicated endpoint owns, written by the node controller (name: the
  // device id; spec: control/device_claims.h). Not part of the control API's desired state.
  kDeviceClaim,
};

// "endpoint", "inference_component" or "device_claim" (as stored, and as used in error messages).
const char* ObjectKindName(ObjectKind kind);
// The inverse of ObjectKindName; kInvalidArgument naming "kind" for any other string.
StatusOr<ObjectKind> ParseObjectKind(std::string_view name);

// One stored object.
struct Object {
  ObjectKind kind = ObjectKind::kEndpoint;
  std::string name;
  nlohmann::json spec;
  int64_t create_revision = 0;  // the store revision of the Create
  int64_t revision = 0;         // the store revision of the last Create or Update
};

// The objects of one kind, ordered by name (byte order), and the store revision they were read
// at: nothing written after `revision` is reflected, and nothing written up to it is missing.
struct ObjectList {
  std::vector<Object> objects;
  int64_t revision = 0;
};

// A condition checked atomically with a write. When one fails, nothing is written and the write
// returns kFailedPrecondition with `field` (if set) as the Status field.
struct Precondition {
  enum class Type {
    kExists,            // the object (kind, name) exists
    kAbsent,            // the object (kind, name) does not exist
    kRevisionIs,        // the object (kind, name) exists at exactly `revision`
    kNoneChangedSince,  // no object of `kind` was created or updated after `revision` (deletes
                        // are not counted: a delete never breaks a reference)
  };
  Type type = Type::kExists;
  ObjectKind kind = ObjectKind::kEndpoint;
  std::string name;      // unused by kNoneChangedSince
  int64_t revision = 0;  // kRevisionIs, kNoneChangedSince
  std::string field;     // the input field to name in the error, e.g. "endpoint"; may be empty

  static Precondition Exists(ObjectKind kind, std::string name, std::string field = {});
  static Precondition Absent(ObjectKind kind, std::string name, std::string field = {});
  static Precondition RevisionIs(ObjectKind kind, std::string name, int64_t revision,
                                 std::string field = {});
  static Precondition NoneChangedSince(ObjectKind kind, int64_t revision, std::string field = {});
};

// One entry of the event log.
struct Event {
  int64_t sequence = 0;      // assigned by AppendEvent; ignored on input
  int64_t time_ms = 0;       // milliseconds since the Unix epoch, given by the caller
  std::string subject_kind;  // what it is about: "endpoint", "inference_component", "copy", ...
  std::string subject_name;  // its name or id
  std::string reason;        // a short CamelCase word: "CopyFailed", "ScaledOut"
  std::string message;       // for people

  bool operator==(const Event&) const = default;
};

// Which events ListEvents returns.
struct EventQuery {
  std::string subject_kind;    // only events about this kind; empty: any kind
  std::string subject_name;    // only events about this name; empty: any name
  // With subject_name: also the events of that component's copies (subject_kind "copy", named
  // "<subject_name>-<digits>", e.g. "alpha-3" for "alpha" but not "alpha-beta-1").
  bool include_copies = false;
  int64_t after_sequence = 0;  // only events with a greater sequence number (for polling)
  int limit = 0;               // at most this many; 0 or negative: no limit
  // Which events a limit keeps: false, the oldest matching ones (to page forward with
  // after_sequence = last sequence seen); true, the newest ones (a tail of the log).
  bool newest = false;
};

// Conditions on one write, checked atomically with it. The first that fails stops the write.
struct WriteOptions {
  // Update and Delete: only if the object is at exactly this revision (compare-and-swap).
  // Create: must be unset (a new object has no revision).
  std::optional<int64_t> expected_revision;
  // Checked after the object itself and expected_revision, in order.
  std::vector<Precondition> preconditions;

  // Shorthands: Update(kind, name, spec, WriteOptions::AtRevision(7)) and
  // Create(kind, name, spec, WriteOptions::If({Precondition::Exists(...)})).
  static WriteOptions AtRevision(int64_t revision);
  static WriteOptions If(std::vector<Precondition> preconditions);
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Creates (kind, name) with `spec`. Returns the new object.
  // Errors: kInvalidArgument naming "name" for an empty name, "spec" for a spec that cannot be
  // serialized (invalid UTF-8), or "revision" when options.expected_revision is set;
  // kAlreadyExists naming "name" when (kind, name) exists; kFailedPrecondition when a precondition
  // fails; others when the storage fails.
  virtual StatusOr<Object> Create(ObjectKind kind, std::string_view name,
                                  const nlohmann::json& spec, const WriteOptions& options) = 0;
  StatusOr<Object> Create(ObjectKind kind, std::string_view name, const nlohmann::json& spec) {
    return Create(kind, name, spec, WriteOptions());
  }

  // The object, or kNotFound naming "name".
  virtual StatusOr<Object> Get(ObjectKind kind, std::string_view name) = 0;

  // All objects of `kind`, ordered by name.
  virtual StatusOr<ObjectList> List(ObjectKind kind) = 0;

  // Replaces the spec of (kind, name). Returns the updated object.
  // Errors: kNotFound naming "name"; kFailedPrecondition naming "revision", with both the expected
  // and the actual revision in the message, when options.expected_revision does not match;
  // kFailedPrecondition when a precondition fails; kInvalidArgument naming "spec" as for Create.
  virtual StatusOr<Object> Update(ObjectKind kind, std::string_view name,
                                  const nlohmann::json& spec, const WriteOptions& options) = 0;
  StatusOr<Object> Update(ObjectKind kind, std::string_view name, const nlohmann::json& spec) {
    return Update(kind, name, spec, WriteOptions());
  }

  // Deletes (kind, name). Returns the store revision of the delete. Errors as for Update.
  virtual StatusOr<int64_t> Delete(ObjectKind kind, std::string_view name,
                                   const WriteOptions& options) = 0;
  StatusOr<int64_t> Delete(ObjectKind kind, std::string_view name) {
    return Delete(kind, name, WriteOptions());
  }

  // The current store revision: that of the latest write, 0 before any.
  virtual StatusOr<int64_t> Revision() = 0;

  // Appends an event (its `sequence` is ignored) and returns the sequence number it got, which is
  // greater than that of every event appended before.
  virtual StatusOr<int64_t> AppendEvent(const Event& event) = 0;

  // The events that match `query`, oldest first (ascending sequence).
  virtual StatusOr<std::vector<Event>> ListEvents(const EventQuery& query) = 0;
};

}  // namespace cohost::store
