// STUN parse/build against the RFC 5769 sample messages (sections 2.1-2.3).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "rtc/stun/stun_message.hpp"

using namespace hype::rtc;
using namespace hype::rtc::stun;

namespace {

const std::vector<std::uint8_t> kRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

const std::vector<std::uint8_t> kResponseV4 = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

const std::vector<std::uint8_t> kResponseV6 = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9, 0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41, 0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

constexpr std::string_view kPassword = "VOkJxbRl1RmTxUk/WvJxBt";
const TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

}  // namespace

TEST(Stun, Rfc5769Request) {
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(kRequest, m), ParseStatus::kOk);
  EXPECT_EQ(m.method(), Method::kBinding);
  EXPECT_EQ(m.message_class(), MessageClass::kRequest);
  EXPECT_EQ(m.transaction_id(), kTid);
  EXPECT_EQ(m.username().value(), "evtj:h6vY");
  EXPECT_EQ(m.priority().value(), 0x6e0001ffu);
  EXPECT_EQ(m.ice_controlled().value(), 0x932ff9b151263b36ULL);
  EXPECT_FALSE(m.ice_controlling().has_value());
  EXPECT_FALSE(m.use_candidate());
  EXPECT_TRUE(m.has_fingerprint());
  EXPECT_TRUE(m.verify_message_integrity(as_bytes(kPassword)));
  EXPECT_FALSE(m.verify_message_integrity(as_bytes("wrong-password")));
}

TEST(Stun, Rfc5769RequestRebuiltByteExact) {
  std::uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kRequest, Method::kBinding, kTid);
  b.set_padding_byte(0x20)
      .add_software("STUN test client")
      .add_priority(0x6e0001ff)
      .add_ice_controlled(0x932ff9b151263b36ULL)
      .add_username("evtj:h6vY")
      .add_message_integrity(as_bytes(kPassword))
      .add_fingerprint();
  ASSERT_EQ(b.finish(), kRequest.size());
  EXPECT_EQ(std::vector<std::uint8_t>(buf, buf + b.finish()), kRequest);
}

TEST(Stun, Rfc5769ResponseIPv4) {
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(kResponseV4, m), ParseStatus::kOk);
  EXPECT_EQ(m.message_class(), MessageClass::kSuccessResponse);
  auto addr = m.xor_mapped_address();
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->to_string(), "192.0.2.1:32853");
  EXPECT_TRUE(m.verify_message_integrity(as_bytes(kPassword)));

  std::uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kSuccessResponse, Method::kBinding, kTid);
  b.set_padding_byte(0x20)
      .add_software("test vector")
      .add_xor_mapped_address(*addr)
      .add_message_integrity(as_bytes(kPassword))
      .add_fingerprint();
  EXPECT_EQ(std::vector<std::uint8_t>(buf, buf + b.finish()), kResponseV4);
}

TEST(Stun, Rfc5769ResponseIPv6) {
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(kResponseV6, m), ParseStatus::kOk);
  auto addr = m.xor_mapped_address();
  ASSERT_TRUE(addr);
  EXPECT_EQ(addr->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_TRUE(m.verify_message_integrity(as_bytes(kPassword)));

  std::uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kSuccessResponse, Method::kBinding, kTid);
  b.set_padding_byte(0x20)
      .add_software("test vector")
      .add_xor_mapped_address(*addr)
      .add_message_integrity(as_bytes(kPassword))
      .add_fingerprint();
  EXPECT_EQ(std::vector<std::uint8_t>(buf, buf + b.finish()), kResponseV6);
}

TEST(Stun, FingerprintAndIntegrityTamperDetected) {
  auto bad = kRequest;
  bad[30] ^= 1;  // inside SOFTWARE
  StunMessage m;
  EXPECT_EQ(StunMessage::parse(bad, m), ParseStatus::kBadFingerprint);
  // Fix the fingerprint, integrity must still fail.
  std::uint32_t crc = crc32(ByteSpan(bad.data(), bad.size() - 8)) ^ kFingerprintXor;
  store_be32(bad.data() + bad.size() - 4, crc);
  ASSERT_EQ(StunMessage::parse(bad, m), ParseStatus::kOk);
  EXPECT_FALSE(m.verify_message_integrity(as_bytes(kPassword)));
}

TEST(Stun, RejectsMalformed) {
  StunMessage m;
  EXPECT_EQ(StunMessage::parse(ByteSpan(kRequest.data(), 10), m), ParseStatus::kTooShort);
  auto v = kRequest;
  v[4] = 0;  // magic cookie
  EXPECT_EQ(StunMessage::parse(v, m), ParseStatus::kNotStun);
  EXPECT_EQ(StunMessage::parse(ByteSpan(kRequest.data(), kRequest.size() - 4), m),
            ParseStatus::kBadLength);
  v = kRequest;
  v[23] = 0xF0;  // SOFTWARE length beyond the end
  EXPECT_EQ(StunMessage::parse(v, m), ParseStatus::kBadAttribute);
}

TEST(Stun, IceAttributesRoundTrip) {
  std::uint8_t buf[512];
  auto tid = random_transaction_id();
  StunBuilder b(buf, MessageClass::kRequest, Method::kBinding, tid);
  b.add_username("abcd:efgh")
      .add_priority(1853824767)
      .add_ice_controlling(0x1122334455667788ULL)
      .add_use_candidate()
      .add_message_integrity(as_bytes("pwpwpwpwpwpwpwpwpwpwpw"))
      .add_fingerprint();
  std::size_t n = b.finish();
  ASSERT_GT(n, 0u);
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(ByteSpan(buf, n), m), ParseStatus::kOk);
  EXPECT_EQ(m.transaction_id(), tid);
  EXPECT_EQ(*m.username(), "abcd:efgh");
  EXPECT_EQ(*m.priority(), 1853824767u);
  EXPECT_EQ(*m.ice_controlling(), 0x1122334455667788ULL);
  EXPECT_TRUE(m.use_candidate());
  EXPECT_TRUE(m.verify_message_integrity(as_bytes("pwpwpwpwpwpwpwpwpwpwpw")));
}

TEST(Stun, ErrorCodeRoundTrip) {
  std::uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kErrorResponse, Method::kBinding, kTid);
  b.add_error_code(487, "Role Conflict").add_fingerprint();
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(ByteSpan(buf, b.finish()), m), ParseStatus::kOk);
  EXPECT_EQ(m.message_class(), MessageClass::kErrorResponse);
  auto e = m.error_code();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 487);
  EXPECT_EQ(e->reason, "Role Conflict");
}

TEST(Stun, BuilderOverflowReturnsZero) {
  std::uint8_t buf[24];
  StunBuilder b(buf, MessageClass::kRequest, Method::kBinding, kTid);
  b.add_username("too-long-for-the-buffer").add_fingerprint();
  EXPECT_EQ(b.finish(), 0u);
}

TEST(Stun, AttributesAfterIntegrityIgnored) {
  std::uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kRequest, Method::kBinding, kTid);
  b.add_message_integrity(as_bytes("k")).add_username("late:user");
  StunMessage m;
  ASSERT_EQ(StunMessage::parse(ByteSpan(buf, b.finish()), m), ParseStatus::kOk);
  EXPECT_FALSE(m.username().has_value());
}
