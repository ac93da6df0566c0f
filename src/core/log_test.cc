#include "core/log.h"

#include <gtest/gtest.h>

#include <string>

namespace cohost::log {
namespace {

TEST(QuoteValueTest, PlainValuesAreUnquoted) {
  EXPECT_EQ(QuoteValue("listening"), "listening");
  EXPECT_EQ(QuoteValue("8080"), "8080");
  EXPECT_EQ(QuoteValue("/tmp/a.sock"), "/tmp/a.sock");
  EXPECT_EQ(QuoteValue("h\xC3\xA9llo"), "h\xC3\xA9llo");  // UTF-8 passes through
}

TEST(QuoteValueTest, EmptyValueIsQuoted) { EXPECT_EQ(QuoteValue(""), "\"\""); }

TEST(QuoteValueTest, SpacesAndEqualsAreQuoted) {
  EXPECT_EQ(QuoteValue("a b"), "\"a b\"");
  EXPECT_EQ(QuoteValue("k=v"), "\"k=v\"");
}

TEST(QuoteValueTest, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(QuoteValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(QuoteValue("c:\\dir"), "\"c:\\\\dir\"");
  EXPECT_EQ(QuoteValue("\""), "\"\\\"\"");
}

TEST(QuoteValueTest, ControlCharactersAreEscaped) {
  EXPECT_EQ(QuoteValue("line\nnext"), "\"line\\nnext\"");
  EXPECT_EQ(QuoteValue("a\rb"), "\"a\\rb\"");
  EXPECT_EQ(QuoteValue("a\tb"), "\"a\\tb\"");
  EXPECT_EQ(QuoteValue(std::string("a\x01"
                                   "b")),
            "\"a\\x01b\"");
  EXPECT_EQ(QuoteValue(std::string("\x1f")), "\"\\x1f\"");
  EXPECT_EQ(QuoteValue(std::string("a\0b", 3)), "\"a\\x00b\"");
}

TEST(QuoteValueTest, QuotedOutputHasNoRawNewline) {
  const std::string out = QuoteValue("multi\nline\r\nvalue with = and \"quotes\"");
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.front(), '"');
  EXPECT_EQ(out.back(), '"');
}

}  // namespace
}  // namespace cohost::log
