// The {op,d} envelope shared by /gateway and /voice: what is a frame, what is a decode
// error, the exact bytes of the frames the endpoints send, and id fields.
#include "net/ws_envelope.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace json = boost::json;
using namespace hype;

TEST(WsEnvelope, ParsesOpAndPayload) {
  auto e = net::parse_envelope(R"({"op":"identify","d":{"token":"t","n":1}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->op, "identify");
  ASSERT_NE(e->d(), nullptr);
  EXPECT_EQ(e->d_object().at("token").as_string(), "t");
}

TEST(WsEnvelope, PayloadIsOptional) {
  auto e = net::parse_envelope(R"({"op":"heartbeat"})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->d(), nullptr);
  EXPECT_TRUE(e->d_object().empty());
  auto n = net::parse_envelope(R"({"op":"x","d":[1,2]})");
  ASSERT_TRUE(n.ok());
  ASSERT_NE(n->d(), nullptr);
  EXPECT_TRUE(n->d()->is_array());
  EXPECT_TRUE(n->d_object().empty());  // not an object: read as no fields
}

TEST(WsEnvelope, SurvivesAMove) {
  auto e = net::parse_envelope(R"({"op":"a","d":{"k":"v"}})");
  ASSERT_TRUE(e.ok());
  net::Envelope moved = std::move(e.value());
  EXPECT_EQ(moved.d_object().at("k").as_string(), "v");
}

TEST(WsEnvelope, DecodeErrors) {
  for (const char* bad : {"", "not json", "[1]", "\"op\"", "42", "{\"op\":1}", "{\"d\":{}}",
                          "{\"op\":null}", "{\"op\":\"x\"", "{\"op\":\"x\"} trailing"}) {
    auto e = net::parse_envelope(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_TRUE(e.error().code == net::kEnvelopeNotObject ||
                e.error().code == net::kEnvelopeMissingOp)
        << bad;
  }
  EXPECT_EQ(net::parse_envelope("[]").error().code, net::kEnvelopeNotObject);
  EXPECT_EQ(net::parse_envelope("[]").error().message, "frame is not a JSON object");
  EXPECT_EQ(net::parse_envelope("{}").error().code, net::kEnvelopeMissingOp);
  EXPECT_EQ(net::parse_envelope("{}").error().message, "missing op");
}

TEST(WsEnvelope, NestingIsBounded) {
  std::string deep = R"({"op":"x","d":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  auto e = net::parse_envelope(deep);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, net::kEnvelopeNotObject);
}

// The bytes both endpoints sent before the helper existed: the wire must not change.
TEST(WsEnvelope, FramesAreByteCompatible) {
  json::object d{{"user_id", "5"}, {"speaking", true}};
  EXPECT_EQ(net::frame("speaking", d), json::serialize(json::object{{"op", "speaking"}, {"d", d}}));
  EXPECT_EQ(net::frame("speaking", d), R"({"op":"speaking","d":{"user_id":"5","speaking":true}})");
  EXPECT_EQ(net::frame("heartbeat_ack", nullptr), R"({"op":"heartbeat_ack","d":null})");
  EXPECT_EQ(net::frame("heartbeat_ack"), R"({"op":"heartbeat_ack"})");
  EXPECT_EQ(net::frame_raw("hello", R"({"heartbeat_interval":41250})"),
            R"({"op":"hello","d":{"heartbeat_interval":41250}})");
  EXPECT_EQ(net::error_frame("invalid_sdp", "sdp missing"),
            R"({"op":"error","d":{"code":"invalid_sdp","message":"sdp missing"}})");
  // A reflected op or message cannot break out of its string.
  auto f = json::parse(net::frame("a\"b", json::object{}));
  EXPECT_EQ(f.at("op").as_string(), "a\"b");
  auto err = json::parse(net::error_frame("c", "quote \" and \\ and \n"));
  EXPECT_EQ(err.at("d").at("message").as_string(), "quote \" and \\ and \n");
}

TEST(WsEnvelope, IdFields) {
  auto id = [](const char* text, bool numbers = false) {
    auto v = json::parse(text);
    return net::id_field(&v, numbers);
  };
  EXPECT_EQ(id(R"("123")"), 123);
  EXPECT_EQ(id(R"("9223372036854775807")"), 9223372036854775807);
  EXPECT_EQ(id(R"("9223372036854775808")"), std::nullopt);  // past the id range
  EXPECT_EQ(id(R"("0")"), std::nullopt);
  EXPECT_EQ(id(R"("")"), std::nullopt);
  EXPECT_EQ(id(R"("-1")"), std::nullopt);
  EXPECT_EQ(id(R"(" 1")"), std::nullopt);
  EXPECT_EQ(id(R"("1a")"), std::nullopt);
  EXPECT_EQ(id(R"("00000000000000000001")"), std::nullopt);  // 20 characters
  // Numbers only where an endpoint always took them.
  EXPECT_EQ(id("123"), std::nullopt);
  EXPECT_EQ(id("123", true), 123);
  EXPECT_EQ(id("0", true), std::nullopt);
  EXPECT_EQ(id("-5", true), std::nullopt);
  EXPECT_EQ(id("1.5", true), std::nullopt);
  EXPECT_EQ(id("18446744073709551615", true), std::nullopt);
  EXPECT_EQ(id("null", true), std::nullopt);
  EXPECT_EQ(id("true", true), std::nullopt);
  EXPECT_EQ(net::id_field(nullptr, true), std::nullopt);
}
