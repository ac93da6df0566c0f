#include "store/state_store.h"

#include <utility>

namespace cohost::store {

const char* ObjectKindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEndpoint:
      return "endpoint";
    case ObjectKind::kInferenceComponent:
      return "inference_component";
    case ObjectKind::kDeviceClaim:
      return "device_claim";
  }
  return "unknown";
}

StatusOr<ObjectKind> ParseObjectKind(std::string_view name) {
  for (ObjectKind kind :
       {ObjectKind::kEndpoint, ObjectKind::kInferenceComponent, ObjectKind::kDeviceClaim}) {
    if (name == ObjectKindName(kind)) return kind;
  }
  return InvalidArgument("kind", "unknown object kind \"" + std::string(name) +
                                     "\"; expected \"endpoint\", \"inference_component\" or \"device_claim\"");
}

Precondition Precondition::Exists(ObjectKind kind, std::string name, std::string field) {
  return Precondition{Type::kExists, kind, std::move(name), 0, std::move(field)};
}

Precondition Precondition::Absent(ObjectKind kind, std::string name, std::string field) {
  return Precondition{Type::kAbsent, kind, std::move(name), 0, std::move(field)};
}

Precondition Precondition::RevisionIs(ObjectKind kind, std::string name, int64_t revision,
                                      std::string field) {
  return Precondition{Type::kRevisionIs, kind, std::move(name), revision, std::move(field)};
}

Precondition Precondition::NoneChangedSince(ObjectKind kind, int64_t revision, std::string field) {
  return Precondition{Type::kNoneChangedSince, kind, {}, revision, std::move(field)};
}

WriteOptions WriteOptions::AtRevision(int64_t revision) {
  WriteOptions options;
  options.expected_revision = revision;
  return options;
}

WriteOptions WriteOptions::If(std::vector<Precondition> preconditions) {
  WriteOptions options;
  options.preconditions = std::move(preconditions);
  return options;
}

}  // namespace cohost::store
