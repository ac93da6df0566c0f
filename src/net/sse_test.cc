#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/http_client.h"

namespace cohost::net {
namespace {

using Events = std::vector<std::string>;

TEST(TakeSseEventsTest, SeveralCompleteEvents) {
  std::string buffer = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
  EXPECT_EQ(TakeSseEvents(buffer), (Events{"{\"a\":1}", "{\"b\":2}", "[DONE]"}));
  EXPECT_EQ(buffer, "");
}

TEST(TakeSseEventsTest, EmptyBuffer) {
  std::string buffer;
  EXPECT_TRUE(TakeSseEvents(buffer).empty());
  EXPECT_EQ(buffer, "");
}

TEST(TakeSseEventsTest, PartialTrailingEventStaysInBuffer) {
  std::string buffer = "data: one\n\ndata: tw";
  EXPECT_EQ(TakeSseEvents(buffer), Events{"one"});
  EXPECT_EQ(buffer, "data: tw");

  buffer += "o\n";  // one newline does not end an event
  EXPECT_TRUE(TakeSseEvents(buffer).empty());
  EXPECT_EQ(buffer, "data: two\n");

  buffer += "\ndata: three\n\n";
  EXPECT_EQ(TakeSseEvents(buffer), (Events{"two", "three"}));
  EXPECT_EQ(buffer, "");
}

TEST(TakeSseEventsTest, ByteByByteDeliveryGivesSameEvents) {
  const std::string stream = "data: x\n\ndata:y\n\n: keep-alive\n\ndata: [DONE]\n\n";
  std::string buffer;
  Events got;
  for (char c : stream) {
    buffer += c;
    for (std::string& e : TakeSseEvents(buffer)) got.push_back(std::move(e));
  }
  EXPECT_EQ(got, (Events{"x", "y", "[DONE]"}));
  EXPECT_EQ(buffer, "");
}

TEST(TakeSseEventsTest, DataWithoutSpaceAndExtraSpaces) {
  std::string buffer = "data:nospace\n\ndata:  two spaces\n\ndata:\n\n";
  // Only the one optional space after the colon is removed.
  EXPECT_EQ(TakeSseEvents(buffer), (Events{"nospace", " two spaces", ""}));
}

TEST(TakeSseEventsTest, IgnoresOtherFields) {
  std::string buffer = "event: message\nid: 7\ndata: payload\nretry: 100\n\n: comment only\n\n";
  EXPECT_EQ(TakeSseEvents(buffer), Events{"payload"});
  EXPECT_EQ(buffer, "");
}

TEST(TakeSseEventsTest, EachDataLineIsReturned) {
  std::string buffer = "data: first\ndata: second\n\n";
  EXPECT_EQ(TakeSseEvents(buffer), (Events{"first", "second"}));
}

TEST(TakeSseEventsTest, DoneMarker) {
  std::string buffer = "data: [DONE]\n\n";
  Events events = TakeSseEvents(buffer);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "[DONE]");
}

}  // namespace
}  // namespace cohost::net
