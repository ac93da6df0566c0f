#include "engine/text_assembler.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cohost::engine {
namespace {

// Pushes `pieces` in order and returns everything released, Flush() included.
std::string PushAll(TextAssembler& a, const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += a.Push(p);
  out += a.Flush();
  return out;
}

TEST(CompleteUtf8PrefixTest, AsciiAndEmpty) {
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix(""), 0u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("abc"), 3u);
}

TEST(CompleteUtf8PrefixTest, TwoByteSequence) {
  // "é" is C3 A9.
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("a\xC3"), 1u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("a\xC3\xA9"), 3u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("\xC3"), 0u);
}

TEST(CompleteUtf8PrefixTest, ThreeByteSequence) {
  // "€" is E2 82 AC.
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("x\xE2"), 1u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("x\xE2\x82"), 1u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("x\xE2\x82\xAC"), 4u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("\xE2\x82"), 0u);
}

TEST(CompleteUtf8PrefixTest, FourByteSequence) {
  // U+1F600 is F0 9F 98 80.
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("ab\xF0"), 2u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("ab\xF0\x9F"), 2u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("ab\xF0\x9F\x98"), 2u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("ab\xF0\x9F\x98\x80"), 6u);
  EXPECT_EQ(TextAssembler::CompleteUtf8Prefix("\xF0\x9F\x98\x80\xC3\xA9"), 6u);
}

TEST(TextAssemblerTest, PassesPlainTextThrough) {
  TextAssembler a;
  EXPECT_EQ(a.Push("Hello"), "Hello");
  EXPECT_EQ(a.Push(", world"), ", world");
  EXPECT_EQ(a.Flush(), "");
  EXPECT_FALSE(a.stopped());
}

TEST(TextAssemblerTest, HoldsBackSplitCharacterUntilComplete) {
  TextAssembler a;
  EXPECT_EQ(a.Push("a\xE2"), "a");
  EXPECT_EQ(a.Push("\x82"), "");
  EXPECT_EQ(a.Push("\xAC!"), "\xE2\x82\xAC!");
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssemblerTest, ReleasesFourByteCharacterFedByteByByte) {
  TextAssembler a;
  EXPECT_EQ(a.Push("\xF0"), "");
  EXPECT_EQ(a.Push("\x9F"), "");
  EXPECT_EQ(a.Push("\x98"), "");
  EXPECT_EQ(a.Push("\x80"), "\xF0\x9F\x98\x80");
}

TEST(TextAssemblerTest, FindsStopStringSplitAcrossPieces) {
  TextAssembler a({"END"});
  EXPECT_EQ(a.Push("hello E"), "hello ");
  EXPECT_EQ(a.Push("N"), "");
  EXPECT_FALSE(a.stopped());
  EXPECT_EQ(a.Push("D and more"), "");
  EXPECT_TRUE(a.stopped());
  // Nothing after the stop string is ever released.
  EXPECT_EQ(a.Push("later"), "");
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssemblerTest, ReleasesTextBeforeStopInSamePiece) {
  TextAssembler a({"STOP"});
  EXPECT_EQ(a.Push("abSTOPcd"), "ab");
  EXPECT_TRUE(a.stopped());
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssemblerTest, EarliestOfSeveralStopStringsWins) {
  TextAssembler a({"world", "lo"});
  EXPECT_EQ(a.Push("hello world"), "hel");
  EXPECT_TRUE(a.stopped());
}

TEST(TextAssemblerTest, ReleasesHeldPrefixWhenItIsNotAStop) {
  TextAssembler a({"END"});
  EXPECT_EQ(a.Push("abc EN"), "abc ");
  EXPECT_EQ(a.Push("X"), "ENX");
  EXPECT_FALSE(a.stopped());
}

TEST(TextAssemblerTest, FlushReleasesHeldStopPrefix) {
  TextAssembler a({"END"});
  EXPECT_EQ(a.Push("x EN"), "x ");
  EXPECT_EQ(a.Flush(), "EN");
  EXPECT_FALSE(a.stopped());
}

TEST(TextAssemblerTest, FlushDropsIncompleteTrailingUtf8) {
  TextAssembler a;
  EXPECT_EQ(a.Push("ok\xE2\x82"), "ok");
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssemblerTest, ReleasesStopPrefixOnceFollowedByOtherBytes) {
  TextAssembler a({"zz"});
  EXPECT_EQ(a.Push("z"), "");  // may start the stop string
  EXPECT_EQ(a.Push("\xC3"), "z");
  EXPECT_EQ(a.Flush(), "");
}

TEST(TextAssemblerTest, EmptyStopStringsAreIgnored) {
  TextAssembler a({"", "zz"});
  EXPECT_EQ(a.Push("abc"), "abc");
  EXPECT_FALSE(a.stopped());
  EXPECT_EQ(a.Push("zz"), "");
  EXPECT_TRUE(a.stopped());
}

TEST(TextAssemblerTest, MultibyteStopStringSplitMidCharacter) {
  TextAssembler a({"\xC3\xA9!"});  // "é!"
  EXPECT_EQ(a.Push("caf\xC3"), "caf");
  EXPECT_EQ(a.Push("\xA9!tail"), "");
  EXPECT_TRUE(a.stopped());
}

// Any split of the text into pieces gives the same output: the text up to the first stop string
// (or all of it), in order, never containing an incomplete character.
TEST(TextAssemblerTest, RandomSplitsGiveSameOutput) {
  const std::string text = "Grüße, \xE2\x82\xAC 5 \xF0\x9F\x98\x80 then STOP and after";
  const std::string expected_stopped = text.substr(0, text.find("STOP"));
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    std::mt19937 rng(seed);
    std::vector<std::string> pieces;
    for (size_t i = 0; i < text.size();) {
      size_t n = std::uniform_int_distribution<size_t>(1, 4)(rng);
      pieces.push_back(text.substr(i, n));
      i += n;
    }
    TextAssembler plain;
    EXPECT_EQ(PushAll(plain, pieces), text);
    TextAssembler with_stop({"STOP", "nothing-like-this"});
    EXPECT_EQ(PushAll(with_stop, pieces), expected_stopped);
    EXPECT_TRUE(with_stop.stopped());
  }
}

}  // namespace
}  // namespace cohost::engine
