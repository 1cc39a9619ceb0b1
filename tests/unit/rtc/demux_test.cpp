#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "rtc/demux.hpp"

using namespace hype::rtc;

namespace {
PacketKind kind(std::vector<std::uint8_t> v) {
  return classify_packet(v);
}
}  // namespace

TEST(Demux, Rfc7983Ranges) {
  EXPECT_EQ(kind({}), PacketKind::kUnknown);
  for (int b = 0; b <= 3; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kStun);
  for (int b = 4; b <= 15; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kUnknown);
  for (int b = 16; b <= 19; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kZrtp);
  for (int b = 20; b <= 63; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kDtls);
  for (int b = 64; b <= 79; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kTurnChannel);
  for (int b = 80; b <= 127; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kUnknown);
  for (int b = 192; b <= 255; ++b) EXPECT_EQ(kind({std::uint8_t(b), 1}), PacketKind::kUnknown);
}

TEST(Demux, RtpVersusRtcp) {
  EXPECT_EQ(kind({0x80, 111}), PacketKind::kRtp);        // Opus
  EXPECT_EQ(kind({0x80, 0x80 | 96}), PacketKind::kRtp);  // VP8 with marker
  EXPECT_EQ(kind({0x80, 200}), PacketKind::kRtcp);       // SR
  EXPECT_EQ(kind({0x81, 201}), PacketKind::kRtcp);       // RR
  EXPECT_EQ(kind({0x81, 205}), PacketKind::kRtcp);       // RTPFB
  EXPECT_EQ(kind({0x81, 206}), PacketKind::kRtcp);       // PSFB
  EXPECT_EQ(kind({0x80, 192}), PacketKind::kRtcp);
  EXPECT_EQ(kind({0x80, 223}), PacketKind::kRtcp);
  EXPECT_EQ(kind({0x80, 224}), PacketKind::kRtp);
  EXPECT_EQ(kind({0x80, 191}), PacketKind::kRtp);
  EXPECT_EQ(kind({0x80}), PacketKind::kUnknown);
}

TEST(Demux, RealStunAndDtlsHeaders) {
  EXPECT_EQ(kind({0x00, 0x01, 0x00, 0x00}), PacketKind::kStun);  // binding request
  EXPECT_EQ(kind({22, 0xfe, 0xfd}), PacketKind::kDtls);          // DTLS 1.2 handshake
  EXPECT_EQ(kind({23, 0xfe, 0xfd}), PacketKind::kDtls);          // application data
}
