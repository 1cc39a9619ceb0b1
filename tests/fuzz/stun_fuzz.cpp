// STUN parser plus both ICE agents fed with whatever parses.
#include <cstddef>
#include <cstdint>

#include "rtc/ice/ice_agent.hpp"
#include "rtc/ice/ice_lite_agent.hpp"
#include "rtc/stun/stun_message.hpp"

using namespace hype;
using namespace hype::rtc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  stun::StunMessage m;
  if (stun::StunMessage::parse(ByteSpan(data, size), m) != stun::ParseStatus::kOk) return 0;
  (void)m.username();
  (void)m.priority();
  (void)m.ice_controlling();
  (void)m.ice_controlled();
  (void)m.xor_mapped_address();
  (void)m.error_code();
  (void)m.use_candidate();
  (void)m.verify_message_integrity(as_bytes("VOkJxbRl1RmTxUk/WvJxBt"));
  std::size_t n = 0;
  m.for_each([&](const stun::Attribute& a) {
    n += a.value.size();
    return true;
  });

  static const ice::IceCredentials local{"evtj", "VOkJxbRl1RmTxUk/WvJxBt"};
  static const ice::IceCredentials remote{"h6vY", "remote-password-0123456"};
  static const SocketAddress from = *SocketAddress::parse("192.0.2.1:32853");
  ice::IceLiteAgent lite(local, remote);
  std::uint8_t out[512];
  auto o = lite.handle_stun(m, from, 1000, out);
  if (o.response_size) {
    stun::StunMessage r;
    if (stun::StunMessage::parse(ByteSpan(out, o.response_size), r) != stun::ParseStatus::kOk) {
      __builtin_trap();  // our own responses must always parse
    }
  }
  ice::IceAgentConfig cfg;
  cfg.local = remote;
  cfg.remote = local;
  cfg.tie_breaker = 1;
  ice::IceAgent agent(cfg);
  agent.add_remote_candidate(from, 1);
  agent.start(0);
  agent.handle_timeout(0);
  agent.handle_stun(m, from, 1);
  ice::Transmit t;
  while (agent.poll_transmit(t)) {
  }
  return 0;
}
