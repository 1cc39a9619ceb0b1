#include "rtc/rtp/header_extensions.hpp"

namespace hype::rtc {

bool ExtensionIds::assign(std::string_view uri, std::uint8_t id) {
  if (uri == ext_uri::kAudioLevel) {
    audio_level = id;
  } else if (uri == ext_uri::kAbsSendTime) {
    abs_send_time = id;
  } else if (uri == ext_uri::kTransportCc) {
    transport_cc = id;
  } else if (uri == ext_uri::kMid) {
    mid = id;
  } else if (uri == ext_uri::kRid) {
    rid = id;
  } else if (uri == ext_uri::kRepairedRid) {
    repaired_rid = id;
  } else {
    return false;
  }
  return true;
}

std::optional<AudioLevel> read_audio_level(ByteSpan v) {
  if (v.empty()) return std::nullopt;
  return AudioLevel{(v[0] & 0x80) != 0, static_cast<std::uint8_t>(v[0] & 0x7F)};
}

std::uint8_t encode_audio_level(const AudioLevel& a) {
  return static_cast<std::uint8_t>((a.voice_activity ? 0x80 : 0) | (a.level_dbov & 0x7F));
}

std::optional<std::uint32_t> read_abs_send_time(ByteSpan v) {
  if (v.size() != 3) return std::nullopt;
  return load_be24(v.data());
}

std::uint32_t abs_send_time_from_us(std::int64_t us) {
  // 18 fractional bits: (us << 18) / 1e6, wrapping every 64 s.
  return static_cast<std::uint32_t>(((static_cast<std::uint64_t>(us) << 18) / 1000000u) &
                                    0x00FFFFFFu);
}

void write_abs_send_time(std::uint8_t out[3], std::uint32_t v) {
  store_be24(out, v);
}

std::optional<std::uint16_t> read_transport_seq(ByteSpan v) {
  if (v.size() < 2) return std::nullopt;
  return load_be16(v.data());
}

std::optional<std::string_view> read_sdes_string(ByteSpan v) {
  if (v.empty()) return std::nullopt;
  return as_string_view(v);
}

namespace {
std::optional<MutableByteSpan> find(const RtpPacket& p, std::uint8_t id) {
  if (id == 0) return std::nullopt;
  return p.find_extension(id);
}
}  // namespace

std::optional<AudioLevel> audio_level(const RtpPacket& p, const ExtensionIds& ids) {
  auto v = find(p, ids.audio_level);
  return v ? read_audio_level(*v) : std::nullopt;
}

std::optional<std::uint16_t> transport_seq(const RtpPacket& p, const ExtensionIds& ids) {
  auto v = find(p, ids.transport_cc);
  return v ? read_transport_seq(*v) : std::nullopt;
}

std::optional<std::string_view> mid(const RtpPacket& p, const ExtensionIds& ids) {
  auto v = find(p, ids.mid);
  return v ? read_sdes_string(*v) : std::nullopt;
}

std::optional<std::string_view> rid(const RtpPacket& p, const ExtensionIds& ids) {
  auto v = find(p, ids.rid);
  return v ? read_sdes_string(*v) : std::nullopt;
}

std::optional<std::string_view> repaired_rid(const RtpPacket& p, const ExtensionIds& ids) {
  auto v = find(p, ids.repaired_rid);
  return v ? read_sdes_string(*v) : std::nullopt;
}

bool set_transport_seq(RtpPacket& p, const ExtensionIds& ids, std::uint16_t seq) {
  auto v = find(p, ids.transport_cc);
  if (!v || v->size() != 2) return false;
  store_be16(v->data(), seq);
  return true;
}

bool set_abs_send_time(RtpPacket& p, const ExtensionIds& ids, std::int64_t time_us) {
  auto v = find(p, ids.abs_send_time);
  if (!v || v->size() != 3) return false;
  write_abs_send_time(v->data(), abs_send_time_from_us(time_us));
  return true;
}

}  // namespace hype::rtc
