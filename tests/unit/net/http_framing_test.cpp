#include "net/http_framing.hpp"

#include <gtest/gtest.h>

namespace hype::net {
namespace {

std::string req(const std::string& fields, const std::string& version = "HTTP/1.1") {
  return "POST /api/v1/x " + version + "\r\nHost: a\r\n" + fields + "\r\n";
}

TEST(HttpFraming, PlainRequestsPass) {
  EXPECT_FALSE(framing_error(req("")));
  EXPECT_FALSE(framing_error(req("Content-Length: 5\r\n")));
  EXPECT_FALSE(framing_error(req("Transfer-Encoding: chunked\r\n")));
  EXPECT_FALSE(framing_error(req("transfer-encoding:   CHUNKED  \r\n")));
  EXPECT_FALSE(framing_error(req("Transfer-Encoding: ,chunked,\r\n")));  // empty list items
  EXPECT_FALSE(framing_error(req("X-Folded-Not: a\tb\r\n")));
  EXPECT_FALSE(framing_error(req("Content-Length: 0\r\n", "HTTP/1.0")));
}

TEST(HttpFraming, TransferEncodingWithContentLength) {
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")));
  EXPECT_TRUE(framing_error(req("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n")));
}

TEST(HttpFraming, FinalCodingMustBeChunked) {
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: xchunked\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked, identity\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: identity\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked;x=1\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: \r\n")));
}

TEST(HttpFraming, UnknownOrRepeatedCodings) {
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: gzip, chunked\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked, chunked\r\n")));
  // Two field lines are one list.
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n")));
}

TEST(HttpFraming, ObsFoldAndSpaceBeforeColon) {
  EXPECT_TRUE(framing_error(req("Transfer-Encoding:\r\n chunked\r\n")));
  EXPECT_TRUE(framing_error(req("X-A: 1\r\n\t2\r\n")));
  EXPECT_TRUE(framing_error(req("Transfer-Encoding : chunked\r\n")));
}

TEST(HttpFraming, Http10WithTransferEncoding) {
  EXPECT_TRUE(framing_error(req("Transfer-Encoding: chunked\r\n", "HTTP/1.0")));
}

TEST(HttpFraming, HeaderBlockEnd) {
  EXPECT_EQ(header_block_end("GET / HTTP/1.1\r\nHost: a\r\n"), std::string_view::npos);
  std::string r = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
  EXPECT_EQ(header_block_end(r), r.find("GET /next"));
  std::string lead = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(header_block_end(lead), lead.size());
  EXPECT_FALSE(framing_error(lead));
}

}  // namespace
}  // namespace hype::net
