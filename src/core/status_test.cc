#include "core/status.h"

#include <gtest/gtest.h>

namespace cohost {
namespace {

StatusOr<int> Half(int v) {
  if (v % 2) return InvalidArgument("v", "must be even");
  return v / 2;
}

Status Chain(int v, int* out) {
  ASSIGN_OR_RETURN(*out, Half(v));
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status().ok());
  Status s = InvalidArgument("max_tokens", "must be at least 1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.field(), "max_tokens");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: max_tokens: must be at least 1");
}

TEST(StatusTest, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(Chain(4, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Chain(3, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.field(), "v");
}

}  // namespace
}  // namespace cohost
