#include "engine/model_shape.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace cohost::engine {
namespace {

constexpr int kVocab = 32000;

TEST(ParseParamCountTest, AcceptsSuffixes) {
  struct Case {
    const char* text;
    int64_t want;
  };
  for (const Case& c :
       {Case{"20M", 20'000'000}, Case{"20m", 20'000'000}, Case{"1B", 1'000'000'000},
        Case{"1G", 1'000'000'000}, Case{"1.5B", 1'500'000'000}, Case{"1500k", 1'500'000},
        Case{"2500K", 2'500'000}, Case{"60000000", 60'000'000}, Case{"100B", 100'000'000'000}}) {
    SCOPED_TRACE(c.text);
    StatusOr<int64_t> n = ParseParamCount(c.text);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, c.want);
  }
}

TEST(ParseParamCountTest, AcceptsDocumentedExample1500k) {
  StatusOr<int64_t> n = ParseParamCount("1500k");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1'500'000);
  EXPECT_FALSE(ParseParamCount("500k").ok());  // below the 1M floor
}

TEST(ParseParamCountTest, RefusesBadInputNamingParams) {
  for (const char* text : {"", "M", "abc", "20X", "20MB", "-5M", "0M", "1..5M", "nanM", "infB",
                           "20 M", "100", "999999", "200B"}) {
    SCOPED_TRACE(std::string("input '") + text + "'");
    StatusOr<int64_t> n = ParseParamCount(text);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(n.status().field(), "params");
  }
}

TEST(ShapeForParamsTest, LandsNearTargetAndIsValid) {
  for (int64_t target :
       {int64_t{20'000'000}, int64_t{60'000'000}, int64_t{100'000'000}, int64_t{1'000'000'000}}) {
    SCOPED_TRACE("target " + std::to_string(target));
    ModelShape s = ShapeForParams(target, kVocab);
    EXPECT_TRUE(s.Validate().ok()) << s.Validate().ToString();
    EXPECT_EQ(s.n_vocab, kVocab);
    EXPECT_EQ(s.head_dim(), 64);
    EXPECT_GE(s.n_layer, 1);
    const double got = static_cast<double>(s.ParamCount());
    EXPECT_GE(got, 0.75 * static_cast<double>(target)) << "got " << got;
    EXPECT_LE(got, 1.25 * static_cast<double>(target)) << "got " << got;
  }
}

TEST(ShapeForParamsTest, BiggerTargetsAreWider) {
  EXPECT_LT(ShapeForParams(20'000'000, kVocab).n_embd, ShapeForParams(100'000'000, kVocab).n_embd);
  EXPECT_LT(ShapeForParams(100'000'000, kVocab).n_embd,
            ShapeForParams(1'000'000'000, kVocab).n_embd);
}

TEST(ShapeForParamsTest, GroupedQueryAttentionFromWideModels) {
  ModelShape small = ShapeForParams(100'000'000, kVocab);
  EXPECT_LT(small.n_embd, 2048);
  EXPECT_EQ(small.n_head_kv, small.n_head);

  ModelShape big = ShapeForParams(1'000'000'000, kVocab);
  EXPECT_GE(big.n_embd, 2048);
  EXPECT_LT(big.n_head_kv, big.n_head);
  EXPECT_EQ(big.n_head, big.n_head_kv * 4);
}

TEST(ModelShapeTest, ParamCountOfKnownShape) {
  ModelShape s;
  s.n_vocab = 100;
  s.n_embd = 64;
  s.n_layer = 2;
  s.n_head = 4;
  s.n_head_kv = 2;  // head_dim 16, kv width 32
  s.n_ff = 128;
  // embeddings + output + final norm, then per layer q,o + k,v + gate,up,down + 2 norms.
  const int64_t per_layer = 2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64;
  EXPECT_EQ(s.ParamCount(), 2 * 64 * 100 + 64 + 2 * per_layer);
}

TEST(ModelShapeTest, ValidateNamesTheWrongField) {
  ASSERT_TRUE(ModelShape().Validate().ok());
  struct Case {
    const char* name;
    void (*mutate)(ModelShape&);
    const char* field;
  };
  const Case cases[] = {
      {"vocab 0", [](ModelShape& s) { s.n_vocab = 0; }, "n_vocab"},
      {"embd not /32", [](ModelShape& s) { s.n_embd = 100; }, "n_embd"},
      {"embd 0", [](ModelShape& s) { s.n_embd = 0; }, "n_embd"},
      {"layers 0", [](ModelShape& s) { s.n_layer = 0; }, "n_layer"},
      {"heads do not divide",
       [](ModelShape& s) {
         s.n_head = 3;
         s.n_head_kv = 3;
       },
       "n_head"},
      {"odd head dim",
       [](ModelShape& s) {
         s.n_embd = 96;
         s.n_head = 32;
         s.n_head_kv = 32;
       },
       "n_head"},
      {"kv heads do not divide", [](ModelShape& s) { s.n_head_kv = 3; }, "n_head_kv"},
      {"kv heads 0", [](ModelShape& s) { s.n_head_kv = 0; }, "n_head_kv"},
      {"ff not /32", [](ModelShape& s) { s.n_ff = 100; }, "n_ff"},
      {"ctx 0", [](ModelShape& s) { s.n_ctx_train = 0; }, "n_ctx_train"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ModelShape s;
    c.mutate(s);
    Status st = s.Validate();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.field(), c.field);
  }
}

}  // namespace
}  // namespace cohost::engine
