// SDP parser; whatever parses must survive write -> parse, and answering it must not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rtc/sdp/sdp.hpp"
#include "rtc/sdp/sdp_answer.hpp"

using namespace hype::rtc::sdp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse(text);
  if (!r.ok()) return 0;
  std::string out = write(r.value());
  auto again = parse(out);
  if (!again.ok()) __builtin_trap();
  if (write(again.value()) != out) __builtin_trap();  // writer output is a fixed point
  AnswerOptions o;
  o.ice_ufrag = "hype";
  o.ice_pwd = "0123456789abcdefghijklmn";
  o.fingerprint = "sha-256 AA:BB";
  auto a = create_answer(r.value(), o);
  if (a.ok() && !parse(write(a.value())).ok()) __builtin_trap();
  return 0;
}
