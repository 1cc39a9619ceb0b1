// sfu::Transport without sockets: browsers (DTLS clients with SRTP) connect two transports
// of one Room through a capturing DatagramSender; then RTP, RTCP feedback, timers and bad
// input go in as datagrams and what the transports send is decrypted and checked.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>

#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "sfu/transport.hpp"
#include "unit/sfu/transport_harness.hpp"

using namespace hype;
using namespace hype::sfu;
using sfu::testing::CaptureSender;
using sfu::testing::Client;
using sfu::testing::RecordingEvents;

namespace {

constexpr std::uint32_t kPubSsrc = 1111;
constexpr std::uint32_t kOutSsrc = 7777;
// The publisher's ids (Chromium's) and the listener's (another stack's): they must differ.
const rtc::ExtensionIds kPubIds{.audio_level = 1, .transport_cc = 3, .mid = 4};
const rtc::ExtensionIds kSubIds{.audio_level = 10, .transport_cc = 6, .mid = 9};

struct Fixture {
  std::shared_ptr<rtc::DtlsContext> server;
  std::string server_fp;
  SfuCounters counters;
  Room room{1, {}, 3, &counters};
  CaptureSender out;
  RecordingEvents events;
  std::unique_ptr<Client> pub_client, sub_client;
  std::unique_ptr<Transport> pub, sub;

  Fixture() {
    // The SFU's certificate fingerprint, as its answer would carry it.
    auto cert = rtc::DtlsCertificate::generate("sfu");
    auto ctx = rtc::DtlsContext::create(cert.value());
    server = ctx.value();
    server_fp = cert.value()->sdp_fingerprint();
  }

  std::unique_ptr<Transport> make(Client& c, ParticipantId id, rtc::ExtensionIds ext,
                                  std::vector<PublishedTrack> tracks, std::uint32_t rtcp_ssrc) {
    auto d = rtc::DtlsSession::create(server, rtc::DtlsRole::kServer, c.cert->sdp_fingerprint());
    if (!d) return nullptr;
    return std::make_unique<Transport>(c.params(1, id, ext, std::move(tracks)),
                                       std::move(d.value()), room, rtcp_ssrc, out, counters,
                                       events);
  }

  // A publisher (audio kPubSsrc) and a listener subscribed to it as kOutSsrc, both connected.
  void connect_both() {
    pub_client = Client::make(5000, server_fp);
    sub_client = Client::make(5001, server_fp);
    ASSERT_TRUE(pub_client && sub_client);
    pub = make(*pub_client, 10, kPubIds, {{kPubSsrc, MediaKind::kAudio, 111, 48000, "0"}}, 501);
    sub = make(*sub_client, 20, kSubIds, {}, 502);
    ASSERT_TRUE(pub && sub);
    ASSERT_TRUE(pub_client->connect(*pub, out));
    ASSERT_TRUE(sub_client->connect(*sub, out));
    Track* t = room.track_by_ssrc(kPubSsrc);
    ASSERT_NE(t, nullptr);
    ASSERT_NE(room.subscribe(20, *t, kOutSsrc, 100, 5000), nullptr);
  }

  // An Opus packet from the publisher's browser, SRTP-protected.
  std::vector<std::uint8_t> publish_packet(std::uint16_t seq, std::uint16_t twcc_seq) {
    std::vector<std::uint8_t> buf(1600);
    std::uint8_t level = 0x80 | 20, tcc[2] = {static_cast<std::uint8_t>(twcc_seq >> 8),
                                              static_cast<std::uint8_t>(twcc_seq)};
    std::uint8_t payload[60];
    std::memset(payload, 0x5a, sizeof(payload));
    rtc::RtpBuilder b(buf, {111, false, seq, seq * 960u, kPubSsrc});
    b.add_extension(kPubIds.audio_level, rtc::ByteSpan(&level, 1))
        .add_extension(kPubIds.transport_cc, tcc)
        .add_extension(kPubIds.mid, rtc::as_bytes("0"))
        .payload(payload);
    std::size_t n = b.finish();
    EXPECT_EQ(pub_client->srtp->protect_rtp(buf, n), rtc::SrtpStatus::kOk);
    buf.resize(n);
    return buf;
  }

  void feed_rtp(Transport& t, std::vector<std::uint8_t> d, std::int64_t now_us) {
    std::size_t len = d.size();
    d.resize(1600);
    t.on_rtp(d, len, now_us);
  }
  void feed_rtcp(Transport& t, Client& c, const std::function<bool(rtc::ByteWriter&)>& write) {
    std::vector<std::uint8_t> buf(1600);
    rtc::ByteWriter w(rtc::MutableByteSpan(buf.data(), 1500));
    ASSERT_TRUE(write(w));
    std::size_t n = w.size();
    ASSERT_EQ(c.srtp->protect_rtcp(buf, n), rtc::SrtpStatus::kOk);
    t.on_rtcp(buf, n, 2'000'000);
  }

  // What `c` received: RTP packets (decrypted) and RTCP packet types.
  struct Received {
    std::vector<std::vector<std::uint8_t>> rtp;
    std::vector<rtc::rtcp::RtcpHeader> rtcp;
    std::vector<std::vector<std::uint8_t>> rtcp_bytes;
  };
  Received received(Client& c) {
    Received r;
    for (auto& d : out.take(c.addr)) {
      std::size_t n = d.bytes.size();
      d.bytes.resize(1600);
      std::uint8_t pt = d.bytes[1] & 0x7f;
      if (pt >= 64 && pt <= 95) {  // RTCP (RFC 5761)
        EXPECT_EQ(c.srtp->unprotect_rtcp(d.bytes, n), rtc::SrtpStatus::kOk);
        d.bytes.resize(n);
        r.rtcp_bytes.push_back(d.bytes);
      } else {
        EXPECT_EQ(c.srtp->unprotect_rtp(d.bytes, n), rtc::SrtpStatus::kOk);
        d.bytes.resize(n);
        r.rtp.push_back(d.bytes);
      }
    }
    for (auto& b : r.rtcp_bytes) {
      rtc::rtcp::RtcpReader rd(b);
      rtc::rtcp::RtcpHeader h;
      while (rd.next(h)) r.rtcp.push_back(h);
    }
    return r;
  }
};

bool has_rtcp(const std::vector<rtc::rtcp::RtcpHeader>& v, std::uint8_t type, std::uint8_t fmt) {
  for (auto& h : v)
    if (h.type == type && h.count == fmt) return true;
  return false;
}

// Every transport-cc result in the RTCP a client got, in the order they came.
std::vector<rtc::rtcp::TwccPacketResult> twcc_results(
    const std::vector<std::vector<std::uint8_t>>& rtcp_bytes) {
  std::vector<rtc::rtcp::TwccPacketResult> out;
  for (const auto& bytes : rtcp_bytes) {
    rtc::rtcp::RtcpReader rd(bytes);
    rtc::rtcp::RtcpHeader h;
    while (rd.next(h)) {
      if (h.type != rtc::rtcp::kRtpfb || h.count != rtc::rtcp::kFmtTwcc) continue;
      rtc::rtcp::FeedbackView fb;
      rtc::rtcp::TwccHeader th;
      std::vector<rtc::rtcp::TwccPacketResult> res(4096);
      const bool ok = rtc::rtcp::parse_feedback(h, fb) && rtc::rtcp::parse_twcc(fb, th, res);
      EXPECT_TRUE(ok);
      if (ok) out.insert(out.end(), res.begin(), res.begin() + th.status_count);
    }
  }
  return out;
}

}  // namespace

TEST(Transport, ConnectsAndForwardsUnderTheSubscribersIds) {
  Fixture f;
  f.connect_both();
  EXPECT_EQ(f.events.connected, (std::vector<ParticipantId>{10, 20}));
  EXPECT_EQ(f.counters.connected.load(), 2u);
  EXPECT_EQ(f.room.participant(10)->endpoint, f.pub.get());

  f.feed_rtp(*f.pub, f.publish_packet(300, 40), 2'000'000);
  auto r = f.received(*f.sub_client);
  ASSERT_EQ(r.rtp.size(), 1u);
  rtc::RtpPacket p;
  ASSERT_EQ(rtc::RtpPacket::parse(r.rtp[0], p), rtc::RtpParseStatus::kOk);
  EXPECT_EQ(p.ssrc(), kOutSsrc);
  EXPECT_EQ(p.sequence_number(), 100);
  EXPECT_EQ(p.payload_type(), 111);
  EXPECT_EQ(p.payload().size(), 60u);
  // Under the listener's ids: its own transport-wide sequence (from 1), the level kept.
  rtc::PacketExtensions ext;
  ASSERT_EQ(rtc::index_extensions(p, kSubIds, ext), rtc::ExtensionStatus::kOk);
  ASSERT_TRUE(ext.transport_seq);
  EXPECT_EQ(*ext.transport_seq, 1);
  ASSERT_TRUE(ext.audio_level);
  EXPECT_EQ(ext.audio_level->level_dbov, 20);
  rtc::PacketExtensions under_pub_ids;
  ASSERT_EQ(rtc::index_extensions(p, kPubIds, under_pub_ids), rtc::ExtensionStatus::kOk);
  EXPECT_FALSE(under_pub_ids.transport_seq);
  EXPECT_EQ(f.counters.forwarded_packets.load(), 1u);
  EXPECT_TRUE(f.received(*f.pub_client).rtp.empty());  // nothing back to the publisher

  f.feed_rtp(*f.pub, f.publish_packet(301, 41), 2'020'000);
  r = f.received(*f.sub_client);
  ASSERT_EQ(r.rtp.size(), 1u);
  ASSERT_EQ(rtc::RtpPacket::parse(r.rtp[0], p), rtc::RtpParseStatus::kOk);
  EXPECT_EQ(p.sequence_number(), 101);
  ASSERT_EQ(rtc::index_extensions(p, kSubIds, ext), rtc::ExtensionStatus::kOk);
  EXPECT_EQ(*ext.transport_seq, 2);
}

TEST(Transport, SendsTransportCcFeedbackAndReceiverReports) {
  Fixture f;
  f.connect_both();
  f.feed_rtp(*f.pub, f.publish_packet(300, 40), 2'000'000);
  f.feed_rtp(*f.pub, f.publish_packet(301, 41), 2'020'000);
  f.received(*f.pub_client);
  f.pub->on_tick(2'040'000);  // first tick: feedback and the first report are due
  auto r = f.received(*f.pub_client);
  EXPECT_TRUE(has_rtcp(r.rtcp, rtc::rtcp::kRtpfb, rtc::rtcp::kFmtTwcc));
  EXPECT_TRUE(has_rtcp(r.rtcp, rtc::rtcp::kRr, 1));
  // Nothing new: no feedback; the next report a second later.
  f.pub->on_tick(2'200'000);
  EXPECT_TRUE(f.received(*f.pub_client).rtcp.empty());
  f.pub->on_tick(3'100'000);
  r = f.received(*f.pub_client);
  EXPECT_TRUE(has_rtcp(r.rtcp, rtc::rtcp::kRr, 1));
  // A listener publishes nothing: no reports to it.
  f.sub->on_tick(3'100'000);
  EXPECT_FALSE(has_rtcp(f.received(*f.sub_client).rtcp, rtc::rtcp::kRr, 1));
}

// The transport-cc feedback the publisher gets: each feedback starts where the last one
// ended (a packet lost just after it is reported), and a packet that arrives after its
// feedback went out changes nothing (before, it started a new feedback at its own number, so
// every packet after it, received and reported already, was reported again as lost: false
// losses for the publisher's loss-based estimate on any path that reorders).
TEST(Transport, TransportCcFeedbackReportsEachPacketOnceAndEveryGap) {
  Fixture f;
  f.connect_both();
  std::map<std::uint16_t, bool> reported;  // transport seq -> received (the last report)
  std::map<std::uint16_t, int> lost_reports;
  auto collect = [&] {
    for (const auto& r : twcc_results(f.received(*f.pub_client).rtcp_bytes)) {
      reported[r.seq] = r.received;
      if (!r.received) ++lost_reports[r.seq];
    }
  };
  std::int64_t now = 2'000'000;
  for (std::uint16_t t : {40, 41, 43, 44})
    f.feed_rtp(*f.pub, f.publish_packet(300 + t, t), now += 5'000);
  f.pub->on_tick(now += 10'000);  // a feedback for 40-44, 42 not received
  collect();
  ASSERT_FALSE(reported[42]);
  // 42 arrives after that feedback; 45 is lost; 47 comes before 46.
  f.feed_rtp(*f.pub, f.publish_packet(342, 42), now += 5'000);
  f.feed_rtp(*f.pub, f.publish_packet(347, 47), now += 5'000);
  f.feed_rtp(*f.pub, f.publish_packet(346, 46), now += 5'000);
  f.feed_rtp(*f.pub, f.publish_packet(348, 48), now += 5'000);
  f.pub->on_tick(now += 200'000);
  collect();
  for (std::uint16_t t = 40; t <= 48; ++t) ASSERT_TRUE(reported.contains(t)) << t;
  for (std::uint16_t t : {40, 41, 43, 44, 46, 47, 48}) {
    EXPECT_TRUE(reported[t]) << t;
    EXPECT_FALSE(lost_reports.contains(t)) << t << " reported lost";
  }
  EXPECT_FALSE(reported[45]);
}

// A publisher whose transport-wide numbers start over (20044 -> 1) gets feedback on the new
// numbers at once.
TEST(Transport, TransportCcFeedbackFollowsASenderWhoseNumbersStartOver) {
  Fixture f;
  f.connect_both();
  std::int64_t now = 2'000'000;
  for (std::uint16_t t = 20040; t < 20045; ++t)
    f.feed_rtp(*f.pub, f.publish_packet(static_cast<std::uint16_t>(t - 19700), t), now += 5'000);
  f.pub->on_tick(now += 10'000);
  f.received(*f.pub_client);
  for (std::uint16_t t = 1; t < 6; ++t)
    f.feed_rtp(*f.pub, f.publish_packet(static_cast<std::uint16_t>(400 + t), t), now += 5'000);
  f.pub->on_tick(now += 200'000);
  std::map<std::uint16_t, bool> reported;
  for (const auto& r : twcc_results(f.received(*f.pub_client).rtcp_bytes))
    reported[r.seq] = r.received;
  for (std::uint16_t t = 1; t < 6; ++t) EXPECT_TRUE(reported[t]) << t;
}

TEST(Transport, PliReachesThePublisherAndNackIsAnsweredFromTheCache) {
  Fixture f;
  f.connect_both();
  f.feed_rtp(*f.pub, f.publish_packet(300, 40), 2'000'000);
  f.received(*f.sub_client);
  f.feed_rtp(*f.pub, f.publish_packet(301, 41), 2'010'000);
  ASSERT_EQ(f.out.take(f.sub_client->addr).size(), 1u);  // lost on the way to the listener
  f.received(*f.pub_client);

  f.feed_rtcp(*f.sub, *f.sub_client,
              [](rtc::ByteWriter& w) { return rtc::rtcp::write_pli(w, 9, kOutSsrc); });
  auto r = f.received(*f.pub_client);
  ASSERT_TRUE(has_rtcp(r.rtcp, rtc::rtcp::kPsfb, rtc::rtcp::kFmtPli));
  rtc::rtcp::FeedbackView fb;
  for (auto& h : r.rtcp)
    if (h.type == rtc::rtcp::kPsfb) {
      ASSERT_TRUE(rtc::rtcp::parse_feedback(h, fb));
    }
  EXPECT_EQ(fb.media_ssrc, kPubSsrc);
  EXPECT_EQ(fb.sender_ssrc, 501u);
  EXPECT_EQ(f.counters.plis.load(), 1u);

  std::array<std::uint16_t, 2> lost{101, 150};  // 150 was never sent
  f.feed_rtcp(*f.sub, *f.sub_client,
              [&](rtc::ByteWriter& w) { return rtc::rtcp::write_nack(w, 9, kOutSsrc, lost); });
  r = f.received(*f.sub_client);
  ASSERT_EQ(r.rtp.size(), 1u);
  rtc::RtpPacket p;
  ASSERT_EQ(rtc::RtpPacket::parse(r.rtp[0], p), rtc::RtpParseStatus::kOk);
  EXPECT_EQ(p.sequence_number(), 101);
  rtc::PacketExtensions ext;
  ASSERT_EQ(rtc::index_extensions(p, kSubIds, ext), rtc::ExtensionStatus::kOk);
  EXPECT_EQ(*ext.transport_seq, 3);  // a fresh transport-wide number for the resend
  EXPECT_EQ(f.counters.nacks.load(), 2u);
  EXPECT_EQ(f.counters.nack_hits.load(), 1u);
}

TEST(Transport, BadInputIsCountedAndDropped) {
  Fixture f;
  auto c = Client::make(5002, f.server_fp);
  ASSERT_TRUE(c);
  auto t = f.make(*c, 30, kPubIds, {{kPubSsrc, MediaKind::kAudio, 111, 48000, "0"}}, 503);
  ASSERT_TRUE(t);
  // Media before DTLS-SRTP is up.
  std::vector<std::uint8_t> junk(1600, 0x80);
  t->on_rtp(junk, 100, 1'000'000);
  t->on_rtcp(junk, 100, 1'000'000);
  EXPECT_EQ(f.counters.dropped_unknown.load(), 2u);
  // A check with the wrong password: answered with an error, not a path.
  auto bad = c->binding_request(true, "not-the-password-0123456789");
  rtc::stun::StunMessage m;
  ASSERT_EQ(rtc::stun::StunMessage::parse(bad, m), rtc::stun::ParseStatus::kOk);
  EXPECT_FALSE(t->on_stun(m, c->addr, 1'000'000));
  EXPECT_EQ(f.counters.dropped_auth.load(), 1u);
  EXPECT_EQ(f.out.take(c->addr).size(), 1u);  // the 401
  EXPECT_FALSE(t->remote());

  ASSERT_TRUE(c->connect(*t, f.out));
  // Tampered SRTP, garbage, then an SRTCP packet that decrypts to a broken compound.
  std::vector<std::uint8_t> rtp(1600);
  rtc::RtpBuilder b(rtp, {111, false, 1, 960, kPubSsrc});
  std::size_t n = b.finish();
  ASSERT_EQ(c->srtp->protect_rtp(rtp, n), rtc::SrtpStatus::kOk);
  rtp[n - 1] ^= 1;
  t->on_rtp(rtp, n, 2'000'000);
  t->on_rtp(junk, 3, 2'000'000);
  EXPECT_EQ(f.counters.dropped_auth.load(), 3u);
  std::vector<std::uint8_t> rtcp(1600, 0);
  rtcp[0] = 0x80;
  rtcp[1] = rtc::rtcp::kRr;
  rtcp[3] = 40;  // claims 164 bytes in an 8-byte packet
  std::size_t rn = 8;
  ASSERT_EQ(c->srtp->protect_rtcp(rtcp, rn), rtc::SrtpStatus::kOk);
  t->on_rtcp(rtcp, rn, 2'000'000);
  EXPECT_EQ(f.counters.dropped_malformed.load(), 1u);
  EXPECT_EQ(f.counters.forwarded_packets.load(), 0u);
}

TEST(Transport, ConsentLossAndDtlsFailureDisconnectOnce) {
  Fixture f;
  f.connect_both();
  // No check for a long time: consent expires (RFC 7675), reported once.
  f.pub->on_tick(60'000'000);
  f.pub->on_tick(61'000'000);
  EXPECT_EQ(f.events.disconnected, (std::vector<ParticipantId>{10}));
  // ICE restart re-arms it.
  f.pub->restart_ice(hype::rtc::ice::random_credentials(), hype::rtc::ice::random_credentials());
  EXPECT_EQ(f.pub->params().local.ufrag.size(), 8u);

  // A browser whose certificate is not the one signaled: the handshake fails.
  auto liar = Client::make(5003, f.server_fp);
  auto honest = Client::make(5004, f.server_fp);
  ASSERT_TRUE(liar && honest);
  liar->ice = honest->ice;  // it passes ICE: only DTLS can tell
  liar->server_ice = honest->server_ice;
  auto t = f.make(*honest, 40, kPubIds, {}, 504);  // expects honest's fingerprint
  EXPECT_FALSE(liar->connect(*t, f.out));
  EXPECT_FALSE(t->connected());
  EXPECT_EQ(f.events.disconnected, (std::vector<ParticipantId>{10, 40}));
}

TEST(Transport, LeavesItsRoomWhenDestroyed) {
  Fixture f;
  f.connect_both();
  EXPECT_NE(f.room.participant(20), nullptr);
  f.sub.reset();
  EXPECT_EQ(f.room.participant(20), nullptr);
  EXPECT_EQ(f.room.subscription(20, kOutSsrc), nullptr);
  // The publisher's packets now go nowhere, without error.
  f.feed_rtp(*f.pub, f.publish_packet(300, 40), 2'000'000);
  EXPECT_EQ(f.counters.forwarded_packets.load(), 0u);
}

// The listener negotiated transport-cc: what the SFU sends it is recorded with its
// transport-wide numbers, and its TWCC feedback moves its downlink estimate.
TEST(Transport, TransportCcFeedbackFromAListenerMovesItsDownlinkEstimate) {
  Fixture f;
  f.connect_both();
  ASSERT_NE(f.sub->bwe(), nullptr);
  EXPECT_EQ(f.sub->downlink_estimate_bps(), 0u);  // unknown before any feedback

  // Forwards `count` packets 10 ms apart; returns the transport-wide numbers they carried.
  std::uint16_t pub_seq = 300;
  auto forward = [&](int count, std::int64_t start_us) {
    std::vector<std::uint16_t> seqs;
    for (int i = 0; i < count; ++i) {
      f.out.now_us = start_us + i * 10'000;
      f.feed_rtp(*f.pub, f.publish_packet(pub_seq, pub_seq), f.out.now_us);
      ++pub_seq;
    }
    for (auto& bytes : f.received(*f.sub_client).rtp) {
      rtc::RtpPacket p;
      rtc::PacketExtensions ext;
      EXPECT_EQ(rtc::RtpPacket::parse(bytes, p), rtc::RtpParseStatus::kOk);
      EXPECT_EQ(rtc::index_extensions(p, kSubIds, ext), rtc::ExtensionStatus::kOk);
      if (ext.transport_seq) seqs.push_back(*ext.transport_seq);
    }
    return seqs;
  };
  // The listener's feedback on `seqs` (those where keep(i) holds arrived, 20 ms after).
  auto feedback = [&](const std::vector<std::uint16_t>& seqs, std::int64_t start_us,
                      const std::function<bool(std::size_t)>& keep, std::int64_t now_us) {
    rtc::rtcp::TwccBuilder b;
    b.reset(9, kOutSsrc, 0);
    for (std::size_t i = 0; i < seqs.size(); ++i) {
      if (keep(i)) {
        ASSERT_EQ(
            b.add_received(seqs[i], start_us + 20'000 + static_cast<std::int64_t>(i) * 10'000),
            rtc::rtcp::TwccAdd::kAdded);
      }
    }
    std::vector<std::uint8_t> buf(1600);
    rtc::ByteWriter w(rtc::MutableByteSpan(buf.data(), 1500));
    ASSERT_TRUE(b.write(w));
    std::size_t n = w.size();
    ASSERT_EQ(f.sub_client->srtp->protect_rtcp(buf, n), rtc::SrtpStatus::kOk);
    f.sub->on_rtcp(buf, n, now_us);
  };

  auto seqs = forward(60, 2'000'000);
  ASSERT_EQ(seqs.size(), 60u);
  feedback(
      seqs, 2'000'000, [](std::size_t) { return true; }, 2'700'000);
  EXPECT_EQ(f.counters.bwe_feedback_used.load(), 1u);
  std::uint64_t first = f.sub->downlink_estimate_bps();
  EXPECT_GT(first, 0u);
  EXPECT_GT(f.sub->bwe()->acked_bps(), 0u);
  EXPECT_EQ(f.sub->bwe()->loss_fraction(), 0.0);

  // The same feedback again says nothing new.
  feedback(
      seqs, 2'000'000, [](std::size_t) { return true; }, 2'750'000);
  EXPECT_EQ(f.counters.bwe_feedback_ignored.load(), 1u);
  EXPECT_EQ(f.sub->downlink_estimate_bps(), first);

  // Half of the next packets lost: the estimate drops.
  seqs = forward(60, 3'000'000);
  feedback(
      seqs, 3'000'000, [](std::size_t i) { return i % 2 == 0; }, 3'700'000);
  EXPECT_EQ(f.counters.bwe_feedback_used.load(), 2u);
  EXPECT_NEAR(f.sub->bwe()->loss_fraction(), 0.5, 0.05);
  EXPECT_LT(f.sub->downlink_estimate_bps(), first);
  EXPECT_GT(f.sub->downlink_estimate_bps(), 0u);

  // A TWCC packet too short to parse is counted, not used.
  f.feed_rtcp(*f.sub, *f.sub_client, [](rtc::ByteWriter& w) {
    w.u8(0x80 | rtc::rtcp::kFmtTwcc);
    w.u8(rtc::rtcp::kRtpfb);
    w.u16(3);
    w.u32(9);
    w.u32(kOutSsrc);
    w.u32(0);  // 4 bytes of FCI: TWCC needs at least 8
    return w.ok();
  });
  EXPECT_EQ(f.counters.bwe_feedback_malformed.load(), 1u);
  EXPECT_EQ(f.counters.dropped_malformed.load(), 0u);

  // A participant without transport-cc has no estimator and reports unknown.
  auto c = Client::make(5005, f.server_fp);
  ASSERT_TRUE(c);
  auto plain = f.make(*c, 50, rtc::ExtensionIds{.audio_level = 1}, {}, 505);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->bwe(), nullptr);
  EXPECT_EQ(plain->downlink_estimate_bps(), 0u);
}
