#include "rtc/video/payload.hpp"

namespace hype::rtc::video {

namespace {

// ASCII only, whatever the process locale.
char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

}  // namespace

Codec codec_from_name(std::string_view name) {
  if (iequals(name, "VP8")) return Codec::kVp8;
  if (iequals(name, "VP9")) return Codec::kVp9;
  if (iequals(name, "H264")) return Codec::kH264;
  if (iequals(name, "AV1") || iequals(name, "AV1X")) return Codec::kAv1;
  return Codec::kUnknown;
}

const char* codec_name(Codec c) {
  switch (c) {
    case Codec::kVp8:
      return "VP8";
    case Codec::kVp9:
      return "VP9";
    case Codec::kH264:
      return "H264";
    case Codec::kAv1:
      return "AV1";
    case Codec::kUnknown:
      break;
  }
  return "unknown";
}

PayloadInfo inspect(Codec codec, ByteSpan payload) {
  switch (codec) {
    case Codec::kVp8:
      return inspect_vp8(payload);
    case Codec::kVp9:
      return inspect_vp9(payload);
    case Codec::kH264:
      return inspect_h264(payload);
    case Codec::kAv1:
      return inspect_av1(payload);
    case Codec::kUnknown:
      break;
  }
  return {};
}

}  // namespace hype::rtc::video
