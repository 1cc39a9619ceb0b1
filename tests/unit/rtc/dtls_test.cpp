// Two DtlsSession instances handshake by passing datagrams in memory, then protect SRTP in
// both directions with the exported keys.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "rtc/dtls_session.hpp"
#include "rtc/srtp_session.hpp"

using namespace hype::rtc;

namespace {

struct Peer {
  std::shared_ptr<DtlsCertificate> cert;
  std::shared_ptr<DtlsContext> ctx;
  std::unique_ptr<DtlsSession> session;
};

Peer make_peer() {
  Peer p;
  auto c = DtlsCertificate::generate();
  EXPECT_TRUE(c.ok());
  p.cert = c.value();
  auto ctx = DtlsContext::create(p.cert);
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  p.ctx = ctx.value();
  return p;
}

// Moves datagrams both ways until neither side has anything to send. Returns the number of
// datagrams moved.
int pump(DtlsSession& a, DtlsSession& b, int drop_first_from_a = 0) {
  int moved = 0;
  for (int round = 0; round < 50; ++round) {
    bool any = false;
    while (auto d = a.pop_datagram()) {
      any = true;
      ++moved;
      if (drop_first_from_a > 0) {
        --drop_first_from_a;
        continue;
      }
      b.handle_datagram(*d);
    }
    while (auto d = b.pop_datagram()) {
      any = true;
      ++moved;
      a.handle_datagram(*d);
    }
    if (!any) break;
  }
  return moved;
}

void srtp_both_ways(const DtlsSession& client, const DtlsSession& server) {
  auto cs = SrtpSession::create(*client.srtp_keys());
  auto ss = SrtpSession::create(*server.srtp_keys());
  ASSERT_TRUE(cs.ok() && ss.ok());
  for (int dir = 0; dir < 2; ++dir) {
    SrtpSession& tx = dir == 0 ? **cs : **ss;
    SrtpSession& rx = dir == 0 ? **ss : **cs;
    std::vector<std::uint8_t> buf(12 + 160 + kSrtpMaxOverhead, 0x42);
    buf[0] = 0x80;
    buf[1] = 111;
    buf[11] = static_cast<std::uint8_t>(dir + 1);
    std::size_t len = 12 + 160;
    ASSERT_EQ(tx.protect_rtp(buf, len), SrtpStatus::kOk);
    ASSERT_EQ(rx.unprotect_rtp(buf, len), SrtpStatus::kOk);
    EXPECT_EQ(len, 12u + 160u);
    EXPECT_EQ(buf[100], 0x42);
  }
}

}  // namespace

TEST(DtlsCertificate, FingerprintFormat) {
  auto c = DtlsCertificate::generate();
  ASSERT_TRUE(c.ok());
  const std::string& fp = (*c)->fingerprint_hex();
  ASSERT_EQ(fp.size(), 32u * 3 - 1);
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i % 3 == 2) {
      EXPECT_EQ(fp[i], ':');
    } else {
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(fp[i])) && !std::islower(fp[i]));
    }
  }
  EXPECT_EQ((*c)->sdp_fingerprint(), "sha-256 " + fp);
  std::string alg, hex;
  EXPECT_TRUE(parse_sdp_fingerprint("SHA-256 " + fp, alg, hex));
  EXPECT_EQ(alg, "sha-256");
  EXPECT_FALSE(parse_sdp_fingerprint("md5 AB:CD", alg, hex));
  EXPECT_FALSE(parse_sdp_fingerprint("sha-256 ABCD", alg, hex));
  auto other = DtlsCertificate::generate();
  EXPECT_NE((*other)->fingerprint_hex(), fp);
}

TEST(Dtls, HandshakeExportsMatchingSrtpKeys) {
  Peer server = make_peer();
  Peer client = make_peer();
  auto s = DtlsSession::create(server.ctx, DtlsRole::kServer, client.cert->sdp_fingerprint());
  auto c = DtlsSession::create(client.ctx, DtlsRole::kClient, server.cert->sdp_fingerprint());
  ASSERT_TRUE(s.ok() && c.ok());
  (*s)->start();
  (*c)->start();
  EXPECT_TRUE((*c)->has_datagram());  // ClientHello
  EXPECT_FALSE((*s)->has_datagram());
  EXPECT_GT((*c)->timeout_ms(), 0);
  pump(**c, **s);
  ASSERT_EQ((*c)->state(), DtlsState::kConnected) << (*c)->error();
  ASSERT_EQ((*s)->state(), DtlsState::kConnected) << (*s)->error();
  const auto& ck = *(*c)->srtp_keys();
  const auto& sk = *(*s)->srtp_keys();
  EXPECT_EQ(ck.profile, SrtpProfile::kAeadAes128Gcm);
  EXPECT_EQ(ck.local.size(), 28u);
  EXPECT_EQ(ck.local, sk.remote);
  EXPECT_EQ(ck.remote, sk.local);
  EXPECT_NE(ck.local, ck.remote);
  EXPECT_EQ((*c)->timeout_ms(), -1);
  srtp_both_ways(**c, **s);

  // close_notify reaches the peer.
  (*c)->close();
  EXPECT_EQ((*c)->state(), DtlsState::kClosed);
  ASSERT_TRUE((*c)->has_datagram());
  (*s)->handle_datagram(*(*c)->pop_datagram());
  EXPECT_EQ((*s)->state(), DtlsState::kClosed);
}

TEST(Dtls, WrongFingerprintFailsBothWays) {
  Peer server = make_peer();
  Peer client = make_peer();
  Peer stranger = make_peer();
  // Client expects a different server certificate.
  auto s = DtlsSession::create(server.ctx, DtlsRole::kServer, client.cert->sdp_fingerprint());
  auto c = DtlsSession::create(client.ctx, DtlsRole::kClient, stranger.cert->sdp_fingerprint());
  ASSERT_TRUE(s.ok() && c.ok());
  (*s)->start();
  (*c)->start();
  pump(**c, **s);
  EXPECT_EQ((*c)->state(), DtlsState::kFailed);
  EXPECT_NE((*s)->state(), DtlsState::kConnected);
  EXPECT_FALSE((*c)->srtp_keys().has_value());

  // Server expects a different client certificate.
  auto s2 = DtlsSession::create(server.ctx, DtlsRole::kServer, stranger.cert->sdp_fingerprint());
  auto c2 = DtlsSession::create(client.ctx, DtlsRole::kClient, server.cert->sdp_fingerprint());
  (*s2)->start();
  (*c2)->start();
  pump(**c2, **s2);
  EXPECT_EQ((*s2)->state(), DtlsState::kFailed);
  EXPECT_NE((*c2)->state(), DtlsState::kConnected);
  EXPECT_FALSE((*s2)->srtp_keys().has_value());
}

TEST(Dtls, RetransmitsAfterLoss) {
  Peer server = make_peer();
  Peer client = make_peer();
  DtlsOptions opts;
  opts.initial_retransmit_ms = 50;
  auto s = DtlsSession::create(server.ctx, DtlsRole::kServer, client.cert->sdp_fingerprint(), opts);
  auto c = DtlsSession::create(client.ctx, DtlsRole::kClient, server.cert->sdp_fingerprint(), opts);
  (*s)->start();
  (*c)->start();
  pump(**c, **s, /*drop_first_from_a=*/1);  // the ClientHello is lost
  EXPECT_EQ((*c)->state(), DtlsState::kConnecting);
  auto t = (*c)->timeout_ms();
  ASSERT_GE(t, 0);
  EXPECT_LE(t, 50);
  std::this_thread::sleep_for(std::chrono::milliseconds(t + 5));
  EXPECT_EQ((*c)->timeout_ms(), 0);
  (*c)->handle_timeout();
  ASSERT_TRUE((*c)->has_datagram());
  pump(**c, **s);
  EXPECT_EQ((*c)->state(), DtlsState::kConnected) << (*c)->error();
  EXPECT_EQ((*s)->state(), DtlsState::kConnected) << (*s)->error();
  srtp_both_ways(**c, **s);
}

TEST(Dtls, GarbageDoesNotBreakHandshake) {
  Peer server = make_peer();
  Peer client = make_peer();
  auto s = DtlsSession::create(server.ctx, DtlsRole::kServer, client.cert->sdp_fingerprint());
  auto c = DtlsSession::create(client.ctx, DtlsRole::kClient, server.cert->sdp_fingerprint());
  (*s)->start();
  (*c)->start();
  std::vector<std::uint8_t> junk = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  (*s)->handle_datagram(junk);
  pump(**c, **s);
  EXPECT_EQ((*c)->state(), DtlsState::kConnected) << (*c)->error();
  EXPECT_EQ((*s)->state(), DtlsState::kConnected) << (*s)->error();
}

TEST(Dtls, RejectsMalformedRemoteFingerprint) {
  Peer p = make_peer();
  EXPECT_FALSE(DtlsSession::create(p.ctx, DtlsRole::kServer, "nonsense").ok());
}
