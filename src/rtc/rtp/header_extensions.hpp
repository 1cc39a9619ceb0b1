// Typed access to the RTP header extensions the SFU understands, by URI as negotiated in
// SDP a=extmap. Readers take the raw element value from RtpPacket::find_extension; writers
// fill a fixed-size value so RtpPacket::rewrite_extension can patch it in place.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "rtc/bytes.hpp"
#include "rtc/rtp/rtp_packet.hpp"

namespace hype::rtc {

namespace ext_uri {
inline constexpr std::string_view kAudioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr std::string_view kAbsSendTime =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
inline constexpr std::string_view kTransportCc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
inline constexpr std::string_view kMid = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr std::string_view kRid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr std::string_view kRepairedRid =
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
}  // namespace ext_uri

// Negotiated ids (0 = not negotiated). Filled from SDP once per transport.
struct ExtensionIds {
  std::uint8_t audio_level = 0;
  std::uint8_t abs_send_time = 0;
  std::uint8_t transport_cc = 0;
  std::uint8_t mid = 0;
  std::uint8_t rid = 0;
  std::uint8_t repaired_rid = 0;

  // Records `id` for `uri` if it is one we know; returns whether it was.
  bool assign(std::string_view uri, std::uint8_t id);
};

// RFC 6464: V flag and level in -dBov (0 loudest, 127 silence).
struct AudioLevel {
  bool voice_activity = false;
  std::uint8_t level_dbov = 127;
};
std::optional<AudioLevel> read_audio_level(ByteSpan value);
std::uint8_t encode_audio_level(const AudioLevel& a);

// abs-send-time: 24-bit 6.18 fixed-point seconds.
std::optional<std::uint32_t> read_abs_send_time(ByteSpan value);
std::uint32_t abs_send_time_from_us(std::int64_t time_us);
void write_abs_send_time(std::uint8_t out[3], std::uint32_t v);

// transport-wide-cc: 16-bit transport sequence number.
std::optional<std::uint16_t> read_transport_seq(ByteSpan value);

// sdes:mid / rid: short identifier strings.
std::optional<std::string_view> read_sdes_string(ByteSpan value);

// Convenience on a parsed packet with the negotiated ids; false/nullopt when absent.
std::optional<AudioLevel> audio_level(const RtpPacket& p, const ExtensionIds& ids);
std::optional<std::uint16_t> transport_seq(const RtpPacket& p, const ExtensionIds& ids);
std::optional<std::string_view> mid(const RtpPacket& p, const ExtensionIds& ids);
std::optional<std::string_view> rid(const RtpPacket& p, const ExtensionIds& ids);
std::optional<std::string_view> repaired_rid(const RtpPacket& p, const ExtensionIds& ids);
bool set_transport_seq(RtpPacket& p, const ExtensionIds& ids, std::uint16_t seq);
bool set_abs_send_time(RtpPacket& p, const ExtensionIds& ids, std::int64_t time_us);

}  // namespace hype::rtc
