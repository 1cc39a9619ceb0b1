// The SFU's offer path on SDP text: parse, validate_offer, create_answer, as /voice `offer`
// runs them. An offer the validator accepts must always be answerable (otherwise signaling
// would publish a session it cannot answer), and the answer must parse back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtc/rtp/header_extensions.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_answer.hpp"
#include "rtc/sdp/sdp_validate.hpp"

using namespace hype::rtc;
using namespace hype::rtc::sdp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto offer = parse(text);
  if (!offer.ok()) return 0;
  AnswerOptions o;
  auto check = validate_offer(offer.value(), o);
  if (!check.ok()) {
    if (check.error().code != "invalid_sdp" || check.error().message.empty()) __builtin_trap();
    return 0;
  }
  const MediaSection& t = offer.value().media.at(check.value().transport);
  if (t.kind != "audio" || t.rejected() || t.fingerprint.empty() || !valid_ice_ufrag(t.ice_ufrag) ||
      !valid_ice_pwd(t.ice_pwd))
    __builtin_trap();
  o.ice_ufrag = "hypeufrg";
  o.ice_pwd = "0123456789abcdefghijklmn";
  o.fingerprint = "sha-256 AA:BB";
  auto answer = create_answer(offer.value(), o);
  if (!answer.ok()) __builtin_trap();
  auto back = parse(write(answer.value()));
  if (!back.ok()) __builtin_trap();
  // What signaling then records for the worker: the answered audio extension ids.
  ExtensionIds ids;
  for (const auto& m : back.value().media)
    if (m.kind == "audio" && !m.rejected())
      for (const auto& e : m.extmaps)
        if (e.id < 256) ids.assign(e.uri, static_cast<std::uint8_t>(e.id));
  return 0;
}
