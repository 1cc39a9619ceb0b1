// ICE: the lite server agent against hand-built browser-style checks, and the controlling
// client agent against the lite agent over a simulated network with loss.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "rtc/ice/ice_agent.hpp"
#include "rtc/ice/ice_lite_agent.hpp"

using namespace hype;
using namespace hype::rtc;
using namespace hype::rtc::ice;

namespace {

const IceCredentials kServer{"srvU", "server-password-0123456789"};
const IceCredentials kBrowser{"brwU", "browser-password-0123456789"};
const SocketAddress kBrowserAddr = *SocketAddress::parse("192.0.2.2:50000");
const SocketAddress kOtherAddr = *SocketAddress::parse("[2001:db8::7]:50001");
const SocketAddress kServerAddr = *SocketAddress::parse("127.0.0.1:40000");

struct Built {
  std::vector<std::uint8_t> bytes;
  stun::StunMessage msg;
};

// What Chromium sends to an ICE-lite server.
Built browser_check(bool use_candidate, std::string username = "srvU:brwU",
                    std::string_view pwd = kServer.pwd, bool controlling = true) {
  Built b;
  b.bytes.resize(256);
  stun::StunBuilder sb(b.bytes, stun::MessageClass::kRequest, stun::Method::kBinding,
                       stun::random_transaction_id());
  sb.add_username(username).add_priority(kPeerReflexivePriority);
  if (controlling) {
    sb.add_ice_controlling(0x1234);
  } else {
    sb.add_ice_controlled(0x1234);
  }
  if (use_candidate) sb.add_use_candidate();
  sb.add_message_integrity(as_bytes(pwd)).add_fingerprint();
  b.bytes.resize(sb.finish());
  EXPECT_EQ(stun::StunMessage::parse(b.bytes, b.msg), stun::ParseStatus::kOk);
  return b;
}

stun::StunMessage parse_response(const std::uint8_t* data, std::size_t n) {
  stun::StunMessage m;
  EXPECT_EQ(stun::StunMessage::parse(ByteSpan(data, n), m), stun::ParseStatus::kOk);
  return m;
}

}  // namespace

TEST(IceLite, AnswersValidCheckAndNominates) {
  IceLiteAgent agent(kServer, kBrowser);
  std::uint8_t out[512];
  auto check = browser_check(false);
  EXPECT_EQ(local_ufrag_of(check.msg), "srvU");
  auto o = agent.handle_stun(check.msg, kBrowserAddr, 1000, out);
  ASSERT_EQ(o.check, RequestCheck::kValid);
  ASSERT_GT(o.response_size, 0u);
  EXPECT_FALSE(o.selected_changed);
  EXPECT_EQ(agent.state(), IceState::kChecking);
  EXPECT_TRUE(agent.is_valid_path(kBrowserAddr));  // peer-reflexive, never signalled

  auto resp = parse_response(out, o.response_size);
  EXPECT_EQ(resp.message_class(), stun::MessageClass::kSuccessResponse);
  EXPECT_EQ(resp.transaction_id(), check.msg.transaction_id());
  EXPECT_EQ(*resp.xor_mapped_address(), kBrowserAddr);
  EXPECT_TRUE(resp.verify_message_integrity(as_bytes(kServer.pwd)));
  EXPECT_TRUE(resp.has_fingerprint());

  auto nominate = browser_check(true);
  o = agent.handle_stun(nominate.msg, kBrowserAddr, 1100, out);
  EXPECT_TRUE(o.selected_changed);
  EXPECT_TRUE(o.state_changed);
  EXPECT_EQ(agent.state(), IceState::kConnected);
  EXPECT_EQ(*agent.selected(), kBrowserAddr);

  // Network change: nomination from a new (IPv6) address moves the path.
  o = agent.handle_stun(browser_check(true).msg, kOtherAddr, 2000, out);
  EXPECT_TRUE(o.selected_changed);
  EXPECT_EQ(*agent.selected(), kOtherAddr);
  auto r6 = parse_response(out, o.response_size);
  EXPECT_EQ(*r6.xor_mapped_address(), kOtherAddr);
}

TEST(IceLite, RejectsBadChecksWithErrors) {
  IceLiteAgent agent(kServer, kBrowser);
  std::uint8_t out[512];
  struct Case {
    Built b;
    RequestCheck want;
    int code;
  };
  std::vector<Case> cases;
  cases.push_back({browser_check(true, "xxxx:brwU"), RequestCheck::kUnauthorized, 401});
  cases.push_back({browser_check(true, "srvU:zzzz"), RequestCheck::kUnauthorized, 401});
  cases.push_back({browser_check(true, "srvU:brwU", "wrong-password-xxxxxxxxxx"),
                   RequestCheck::kUnauthorized, 401});
  cases.push_back({browser_check(true, "srvU:brwU", kServer.pwd, /*controlling=*/false),
                   RequestCheck::kRoleConflict, 487});
  for (auto& c : cases) {
    auto o = agent.handle_stun(c.b.msg, kBrowserAddr, 1000, out);
    EXPECT_EQ(o.check, c.want);
    ASSERT_GT(o.response_size, 0u);
    auto resp = parse_response(out, o.response_size);
    EXPECT_EQ(resp.message_class(), stun::MessageClass::kErrorResponse);
    EXPECT_EQ(resp.error_code()->code, c.code);
  }
  // No USERNAME/MI: 400.
  std::uint8_t buf[64];
  stun::StunBuilder sb(buf, stun::MessageClass::kRequest, stun::Method::kBinding,
                       stun::random_transaction_id());
  sb.add_fingerprint();
  stun::StunMessage bare;
  ASSERT_EQ(stun::StunMessage::parse(ByteSpan(buf, sb.finish()), bare), stun::ParseStatus::kOk);
  auto o = agent.handle_stun(bare, kBrowserAddr, 1000, out);
  EXPECT_EQ(o.check, RequestCheck::kBadRequest);
  EXPECT_EQ(parse_response(out, o.response_size).error_code()->code, 400);

  EXPECT_EQ(agent.state(), IceState::kNew);
  EXPECT_FALSE(agent.selected().has_value());
  EXPECT_FALSE(agent.is_valid_path(kBrowserAddr));
}

TEST(IceLite, ConsentExpiresAfter30sAndRecovers) {
  IceLiteAgent agent(kServer, kBrowser);
  std::uint8_t out[512];
  agent.handle_stun(browser_check(true).msg, kBrowserAddr, 0, out);
  ASSERT_EQ(agent.state(), IceState::kConnected);
  // Consent checks every 5 s keep it alive.
  for (std::int64_t t = 5000; t <= 60000; t += 5000) {
    agent.handle_stun(browser_check(false).msg, kBrowserAddr, t, out);
    EXPECT_FALSE(agent.handle_timeout(t + 1000));
  }
  EXPECT_EQ(agent.next_timeout_ms(), 60000 + kConsentTimeoutMs);
  // Checks from another address do not refresh the selected path.
  agent.handle_stun(browser_check(false).msg, kOtherAddr, 80000, out);
  EXPECT_FALSE(agent.handle_timeout(89999));
  EXPECT_TRUE(agent.handle_timeout(90000));
  EXPECT_EQ(agent.state(), IceState::kDisconnected);
  EXPECT_EQ(agent.next_timeout_ms(), -1);
  agent.handle_stun(browser_check(false).msg, kBrowserAddr, 95000, out);
  EXPECT_EQ(agent.state(), IceState::kConnected);
}

TEST(IceLite, RestartSwapsCredentialsKeepsPath) {
  IceLiteAgent agent(kServer, kBrowser);
  std::uint8_t out[512];
  agent.handle_stun(browser_check(true).msg, kBrowserAddr, 0, out);
  IceCredentials new_local{"srv2", "server-password-new-456789"};
  IceCredentials new_remote{"brw2", "browser-password-new-56789"};
  agent.restart(new_local, new_remote);
  EXPECT_EQ(*agent.selected(), kBrowserAddr);  // media keeps flowing
  auto old = agent.handle_stun(browser_check(true).msg, kBrowserAddr, 10, out);
  EXPECT_EQ(old.check, RequestCheck::kUnauthorized);
  auto fresh = browser_check(true, "srv2:brw2", new_local.pwd);
  auto o = agent.handle_stun(fresh.msg, kOtherAddr, 20, out);
  EXPECT_EQ(o.check, RequestCheck::kValid);
  EXPECT_TRUE(o.selected_changed);
  EXPECT_TRUE(
      parse_response(out, o.response_size).verify_message_integrity(as_bytes(new_local.pwd)));
}

TEST(IceCredentials, RandomAreIceChars) {
  auto c = random_credentials();
  EXPECT_EQ(c.ufrag.size(), 8u);
  EXPECT_EQ(c.pwd.size(), 24u);
  for (char ch : c.ufrag + c.pwd) EXPECT_TRUE(std::isalnum(ch) || ch == '+' || ch == '/');
  EXPECT_NE(random_credentials().pwd, c.pwd);
}

namespace {

// Runs the controlling agent against the lite agent. drop(n) decides whether the n-th
// datagram from the client is lost.
struct Sim {
  IceAgent client;
  IceLiteAgent server{kServer, kBrowser};
  std::int64_t now = 0;
  int client_sent = 0;
  std::vector<IceEvent> events;
  std::function<bool(int)> drop = [](int) { return false; };
  bool server_silent = false;

  explicit Sim(IceAgentConfig cfg) : client(std::move(cfg)) {}

  void run_until(std::int64_t end) {
    while (now <= end) {
      Transmit t;
      while (client.poll_transmit(t)) {
        if (drop(client_sent++) || server_silent) continue;
        stun::StunMessage m;
        ASSERT_EQ(stun::StunMessage::parse(t.bytes(), m), stun::ParseStatus::kOk);
        std::uint8_t out[512];
        auto o = server.handle_stun(m, kBrowserAddr, now, out);
        if (o.response_size) {
          stun::StunMessage r;
          ASSERT_EQ(stun::StunMessage::parse(ByteSpan(out, o.response_size), r),
                    stun::ParseStatus::kOk);
          client.handle_stun(r, t.to, now);
        }
      }
      IceEvent e;
      while (client.poll_event(e)) events.push_back(e);
      server.handle_timeout(now);
      std::int64_t next = client.next_timeout_ms();
      if (next >= 0 && next <= now) {
        client.handle_timeout(now);
        continue;
      }
      now = next < 0 ? end + 1 : std::min(next, end + 1);
    }
  }
};

IceAgentConfig client_config() {
  IceAgentConfig c;
  c.local = kBrowser;
  c.remote = kServer;
  return c;
}

}  // namespace

TEST(IceAgent, ConnectsToLiteAgentWithRegularNomination) {
  Sim sim(client_config());
  // Added low priority first: the agent must still check (and nominate) by priority.
  sim.client.add_remote_candidate(*SocketAddress::parse("10.9.9.9:1"), 100);
  sim.client.add_remote_candidate(kServerAddr, 2130706431);
  sim.client.start(0);
  sim.run_until(1000);
  EXPECT_EQ(sim.client.state(), IceState::kConnected);
  ASSERT_TRUE(sim.client.selected().has_value());
  EXPECT_EQ(*sim.client.selected(), kServerAddr);
  EXPECT_EQ(sim.server.state(), IceState::kConnected);
  EXPECT_EQ(*sim.server.selected(), kBrowserAddr);
  bool saw_selected = false;
  for (const auto& e : sim.events) saw_selected |= e.type == IceEvent::Type::kSelectedPairChanged;
  EXPECT_TRUE(saw_selected);
}

TEST(IceAgent, RetransmitsThroughLossAndKeepsConsent) {
  auto cfg = client_config();
  cfg.aggressive_nomination = true;
  Sim sim(cfg);
  sim.client.add_remote_candidate(kServerAddr, 2130706431);
  sim.client.start(0);
  sim.drop = [](int n) { return n < 3; };  // first three transmissions lost
  sim.run_until(5000);
  ASSERT_EQ(sim.client.state(), IceState::kConnected);
  EXPECT_GE(sim.client_sent, 4);
  // Two minutes of consent checks keep both sides connected.
  sim.run_until(125'000);
  EXPECT_EQ(sim.client.state(), IceState::kConnected);
  EXPECT_EQ(sim.server.state(), IceState::kConnected);
  int sent_before = sim.client_sent;
  EXPECT_GE(sent_before, 20);  // ~every 5 s
  // The server goes silent: after 30 s both sides consider the path dead.
  sim.server_silent = true;
  sim.run_until(125'000 + 40'000);
  EXPECT_EQ(sim.client.state(), IceState::kDisconnected);
  EXPECT_EQ(sim.server.state(), IceState::kDisconnected);
}

TEST(IceAgent, FailsWhenNothingAnswers) {
  Sim sim(client_config());
  sim.client.add_remote_candidate(kServerAddr, 1);
  sim.client.start(0);
  sim.server_silent = true;
  sim.run_until(60'000);
  EXPECT_EQ(sim.client.state(), IceState::kFailed);
  EXPECT_EQ(sim.client_sent, 7);  // Rc transmissions, then give up
  EXPECT_EQ(sim.client.next_timeout_ms(), -1);
}

TEST(IceAgent, WrongRemotePasswordNeverConnects) {
  auto cfg = client_config();
  cfg.remote.pwd = "not-the-server-password-x";
  Sim sim(cfg);
  sim.client.add_remote_candidate(kServerAddr, 1);
  sim.client.start(0);
  sim.run_until(60'000);
  EXPECT_NE(sim.client.state(), IceState::kConnected);
  EXPECT_EQ(sim.server.state(), IceState::kNew);
}

TEST(IceAgent, RestartRenominates) {
  Sim sim(client_config());
  sim.client.add_remote_candidate(kServerAddr, 1);
  sim.client.start(0);
  sim.run_until(1000);
  ASSERT_EQ(sim.client.state(), IceState::kConnected);
  IceCredentials l2{"brw2", "browser-password-new-56789"};
  IceCredentials s2{"srv2", "server-password-new-456789"};
  sim.server.restart(s2, l2);
  sim.client.restart(l2, s2, sim.now);
  EXPECT_EQ(*sim.client.selected(), kServerAddr);  // still routable during the restart
  sim.run_until(sim.now + 2000);
  EXPECT_EQ(sim.client.state(), IceState::kConnected);
  EXPECT_EQ(sim.server.state(), IceState::kConnected);
}

TEST(IceAgent, AnswersPeerChecksAndLearnsPeerReflexive) {
  IceAgent client(client_config());
  client.start(0);
  // A full remote agent (controlled) checks us: USERNAME is "ourufrag:theirufrag".
  std::vector<std::uint8_t> b(256);
  stun::StunBuilder sb(b, stun::MessageClass::kRequest, stun::Method::kBinding,
                       stun::random_transaction_id());
  sb.add_username("brwU:srvU")
      .add_priority(12345)
      .add_ice_controlled(7)
      .add_message_integrity(as_bytes(kBrowser.pwd))
      .add_fingerprint();
  b.resize(sb.finish());
  stun::StunMessage m;
  ASSERT_EQ(stun::StunMessage::parse(b, m), stun::ParseStatus::kOk);
  client.handle_stun(m, kOtherAddr, 10);
  Transmit t;
  ASSERT_TRUE(client.poll_transmit(t));
  EXPECT_EQ(t.to, kOtherAddr);
  auto r = parse_response(t.data.data(), t.size);
  EXPECT_EQ(r.message_class(), stun::MessageClass::kSuccessResponse);
  EXPECT_TRUE(r.verify_message_integrity(as_bytes(kBrowser.pwd)));
  // The learned address gets checked.
  client.handle_timeout(10);
  ASSERT_TRUE(client.poll_transmit(t));
  EXPECT_EQ(t.to, kOtherAddr);
  stun::StunMessage check;
  ASSERT_EQ(stun::StunMessage::parse(t.bytes(), check), stun::ParseStatus::kOk);
  EXPECT_EQ(*check.username(), "srvU:brwU");
  EXPECT_EQ(*check.ice_controlling(), client.tie_breaker());
  EXPECT_TRUE(check.verify_message_integrity(as_bytes(kServer.pwd)));
}
