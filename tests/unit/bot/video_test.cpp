// hype-bot's video pieces without a server: the publisher (pacing on the clip's clock, a PLI
// answered by a jump to the next keyframe, NACKs answered with RTX, --drop-every) over a real
// SRTP session to a loopback socket, and the watcher's counting (frames, keyframes, gaps
// NACKed and filled by RTX, losses, freezes) from synthetic packets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <functional>
#include <vector>

#include "bot/bot.hpp"
#include "bot/options.hpp"
#include "bot/rtp_stamp.hpp"
#include "bot/video.hpp"
#include "net/udp_socket.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/video/vp8_packetizer.hpp"

using namespace hype;
using namespace hype::bot;

namespace {

void le(std::vector<std::uint8_t>& v, std::uint64_t x, int bytes) {
  for (int i = 0; i < bytes; ++i) v.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

// A 30 fps "VP8" clip of `n` frames whose frame tag marks keyframes at `keys`; sizes vary so
// frames take one to three packets.
std::string write_clip(std::size_t n, std::vector<std::size_t> keys) {
  std::vector<std::uint8_t> v{'D', 'K', 'I', 'F', 0, 0, 32, 0, 'V', 'P', '8', '0'};
  le(v, 64, 2);
  le(v, 48, 2);
  le(v, 30, 4);
  le(v, 1, 4);
  le(v, n, 4);
  le(v, 0, 4);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t size = 100 + (i % 3) * 1000;
    bool key = std::find(keys.begin(), keys.end(), i) != keys.end();
    le(v, size, 4);
    le(v, i, 8);
    // The frame tag (bit 0: 0 = keyframe) and a keyframe's start code (RFC 6386 9.1).
    v.insert(v.end(), {static_cast<std::uint8_t>(key ? 0x00 : 0x01), 0, 0, 0x9d, 0x01, 0x2a});
    for (std::size_t k = 6; k < size; ++k) v.push_back(static_cast<std::uint8_t>(i));
  }
  std::string path = ::testing::TempDir() + "bot_video_clip_" + std::to_string(::getpid()) + ".ivf";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size()));
  return path;
}

rtc::SrtpKeyMaterial keys(bool flip) {
  rtc::SrtpKeyMaterial k;
  k.profile = rtc::SrtpProfile::kAeadAes128Gcm;
  std::vector<std::uint8_t> a(28, 0x11), b(28, 0x22);
  k.local = flip ? b : a;
  k.remote = flip ? a : b;
  return k;
}

// The publisher bot and the far end of its transport (plays the SFU).
struct PublisherRig {
  Bot bot;
  net::UdpSocket far = net::UdpSocket::bind(SocketAddress::v4(INADDR_LOOPBACK, 0));
  std::unique_ptr<rtc::SrtpSession> far_srtp = rtc::SrtpSession::create(keys(true)).value();
  Options o;

  explicit PublisherRig(const std::string& clip, int drop_every = 0, double pace = 0) {
    bot.sock = net::UdpSocket::bind(SocketAddress::v4(INADDR_LOOPBACK, 0));
    bot.link.srtp = rtc::SrtpSession::create(keys(false)).value();
    bot.link.peer = far.local_address();
    bot.ssrc = 1234;
    o.stream = true;
    o.video_clip = clip;
    o.drop_every = drop_every;
    o.pace = pace;
    Bots bots;
    bots.push_back(std::unique_ptr<Bot>(&bot));
    bool ok = prepare_video(bots, o);
    (void)bots.front().release();
    EXPECT_TRUE(ok);
  }

  struct Rx {
    std::uint8_t pt;
    bool marker;
    std::uint16_t seq;
    std::uint32_t ts, ssrc;
    std::vector<std::uint8_t> payload;
    std::optional<std::uint64_t> stamp;  // the send time in the RTP padding
  };
  std::vector<Rx> drain() {
    std::vector<Rx> out;
    std::array<std::uint8_t, 2048> buf{};
    for (;;) {
      ssize_t n = ::recv(far.fd(), buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) break;
      std::size_t len = static_cast<std::size_t>(n);
      EXPECT_EQ(far_srtp->unprotect_rtp(buf, len), rtc::SrtpStatus::kOk);
      rtc::RtpPacket p;
      EXPECT_EQ(rtc::RtpPacket::parse(rtc::MutableByteSpan(buf.data(), len), p),
                rtc::RtpParseStatus::kOk);
      auto pl = p.payload();
      out.push_back({p.payload_type(),
                     p.marker(),
                     p.sequence_number(),
                     p.timestamp(),
                     p.ssrc(),
                     {pl.begin(), pl.end()},
                     rtp_read_stamp(p)});
    }
    return out;
  }
  // An RTCP packet from the far end, handed to the bot as the media thread would.
  void rtcp(const std::function<bool(rtc::ByteWriter&)>& write, std::int64_t now) {
    std::array<std::uint8_t, 1600> buf{};
    rtc::ByteWriter w(buf);
    ASSERT_TRUE(write(w));
    std::size_t n = w.size();
    ASSERT_EQ(far_srtp->protect_rtcp(buf, n), rtc::SrtpStatus::kOk);
    ASSERT_EQ(bot.link.srtp->unprotect_rtcp(buf, n), rtc::SrtpStatus::kOk);
    video_on_rtcp(bot, rtc::MutableByteSpan(buf.data(), n), now);
  }
};

std::size_t frame_starts(const std::vector<PublisherRig::Rx>& rx) {
  std::size_t n = 0;
  for (auto& p : rx) n += p.pt == kPtVp8 && (p.payload[0] & 0x10);
  return n;
}

}  // namespace

TEST(BotVideo, ClipLoadsWithKeyframesAndDurations) {
  VideoClip c;
  std::string err;
  ASSERT_TRUE(load_clip(write_clip(10, {0, 6}), c, err)) << err;
  EXPECT_EQ(c.frames.size(), 10u);
  EXPECT_EQ(c.keyframes, 2u);
  EXPECT_TRUE(c.frames[6].key);
  EXPECT_EQ(c.frames[1].duration_90k, 3000u);
  EXPECT_EQ(c.frames[9].duration_us, 33333);
  EXPECT_NEAR(c.fps, 30.0, 0.01);
  EXPECT_FALSE(load_clip(write_clip(3, {1}), c, err)) << "the first frame must be a keyframe";
  EXPECT_FALSE(load_clip("/nonexistent.ivf", c, err));
}

TEST(BotVideo, PublisherPacesFramesAtTheClipRate) {
  PublisherRig rig(write_clip(10, {0, 6}));
  const std::int64_t t0 = 1'000'000;
  video_tick(rig.bot, t0, true);  // frame 0
  auto first = rig.drain();
  ASSERT_EQ(frame_starts(first), 1u);
  EXPECT_EQ(first.front().payload[4], 0x00) << "frame 0 is the keyframe";
  EXPECT_TRUE(first.back().marker);
  video_tick(rig.bot, t0 + 33'000, true);  // not due yet
  EXPECT_TRUE(rig.drain().empty());
  video_tick(rig.bot, t0 + 333'400, true);  // frames 1..10 due (10 -> frame 0 of loop 2)
  auto rx = rig.drain();
  EXPECT_EQ(frame_starts(rx), 10u);
  EXPECT_EQ(rig.bot.vpub->loops, 1u);
  // 90 kHz timestamps 3000 apart, sequence numbers consecutive, picture ids consecutive.
  std::uint16_t seq = first.back().seq;
  std::uint32_t ts = first.back().ts;
  for (auto& p : rx) {
    EXPECT_EQ(p.seq, static_cast<std::uint16_t>(seq + 1));
    seq = p.seq;
    if (p.payload[0] & 0x10) {
      EXPECT_EQ(p.ts - ts, 3000u);
      ts = p.ts;
    }
  }
}

TEST(BotVideo, PliJumpsToTheNextKeyframe) {
  PublisherRig rig(write_clip(10, {0, 6}));
  const std::int64_t t0 = 1'000'000;
  video_tick(rig.bot, t0, true);           // frame 0
  video_tick(rig.bot, t0 + 33'400, true);  // frame 1
  rig.drain();
  rig.rtcp([&](rtc::ByteWriter& w) { return rtc::rtcp::write_pli(w, 9, rig.bot.ssrc); }, t0);
  EXPECT_EQ(rig.bot.vpub->plis_received, 1u);
  video_tick(rig.bot, t0 + 66'700, true);  // frame 2's slot sends frame 6, the keyframe
  auto rx = rig.drain();
  ASSERT_FALSE(rx.empty());
  EXPECT_EQ(rx.front().payload[4], 0x00) << "a keyframe";
  EXPECT_EQ(rx.front().payload[10], 6) << "frame 6";
  EXPECT_EQ(rig.bot.vpub->keyframe_jumps, 1u);
  EXPECT_EQ(rig.bot.vpub->keyframes_sent, 2u);
  video_tick(rig.bot, t0 + 100'000, true);
  rx = rig.drain();
  ASSERT_FALSE(rx.empty());
  EXPECT_EQ(rx.front().payload[10], 7) << "then on from there";
}

TEST(BotVideo, NackIsAnsweredWithRtxAndDropsAreRecoverable) {
  PublisherRig rig(write_clip(10, {0}), /*drop_every=*/3);
  const std::int64_t t0 = 1'000'000;
  video_tick(rig.bot, t0 + 0, true);
  video_tick(rig.bot, t0 + 133'400, true);  // frames 0-4: 1, 1, 2, 1, 1 packets; #3, #6 dropped
  auto rx = rig.drain();
  auto& p = *rig.bot.vpub;
  EXPECT_EQ(p.packets_sent, 6u);
  EXPECT_EQ(p.packets_dropped, 2u);
  ASSERT_EQ(rx.size(), 4u);
  const std::uint16_t base = rx.front().seq;
  std::vector<std::uint16_t> lost{static_cast<std::uint16_t>(base + 2),
                                  static_cast<std::uint16_t>(base + 5),
                                  static_cast<std::uint16_t>(base + 900)};  // never sent
  rig.rtcp([&](rtc::ByteWriter& w) { return rtc::rtcp::write_nack(w, 9, rig.bot.ssrc, lost); }, t0);
  auto rtx = rig.drain();
  ASSERT_EQ(rtx.size(), 2u);
  EXPECT_EQ(p.nacks_received, 1u);
  EXPECT_EQ(p.nacked_packets, 3u);
  EXPECT_EQ(p.rtx_sent, 2u);
  EXPECT_EQ(p.rtx_unavailable, 1u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(rtx[i].pt, kPtRtx);
    EXPECT_EQ(rtx[i].ssrc, p.rtx_ssrc);
    EXPECT_NE(rtx[i].ssrc, rx.front().ssrc);
    EXPECT_EQ(rtc::load_be16(rtx[i].payload.data()), lost[i]) << "the original sequence number";
  }
  EXPECT_EQ(rtx[0].seq + 1, rtx[1].seq) << "RTX has its own sequence";
  EXPECT_TRUE(rtx[1].marker) << "the last packet of frame 2 keeps its marker";
}

namespace {

struct WatcherRig {
  Bot bot;
  std::uint16_t seq = 100;
  std::uint32_t ts = 5000;
  WatcherRig() { bot.vrx = std::make_shared<VideoReceiver>(); }

  std::vector<std::uint8_t> packet(std::uint8_t pt, std::uint16_t s, std::uint32_t t,
                                   rtc::ByteSpan payload) {
    std::vector<std::uint8_t> buf(1600);
    rtc::RtpBuilder rb(buf, {pt, false, s, t, 777});
    rb.payload(payload);
    buf.resize(rb.finish());
    return buf;
  }
  // One frame of `n` packets; `skip` packets are "lost". Returns the frame's packets.
  std::vector<std::vector<std::uint8_t>> frame(bool key, std::size_t n, std::int64_t now,
                                               std::vector<std::size_t> skip = {}) {
    std::vector<std::uint8_t> f(n * 100, 0x55);
    f[0] = key ? 0x00 : 0x01;
    f[3] = 0x9d, f[4] = 0x01, f[5] = 0x2a;
    rtc::video::Vp8Packetizer pk(104);
    std::vector<std::vector<std::uint8_t>> all;
    for (std::size_t i = 0; i < pk.packet_count(f.size()); ++i) {
      std::array<std::uint8_t, 200> pl{};
      std::size_t len = pk.write(f, 1, i, pl);
      all.push_back(packet(kPtVp8, seq++, ts, {pl.data(), len}));
      if (std::find(skip.begin(), skip.end(), i) == skip.end()) video_on_rtp(bot, all.back(), now);
    }
    ts += 3000;
    return all;
  }
};

}  // namespace

TEST(BotVideo, WatcherCountsFramesKeyframesAndBytes) {
  WatcherRig w;
  w.frame(true, 3, 1000);
  for (int i = 1; i < 10; ++i) w.frame(false, 2, 1000 + i * 33'333);
  auto& r = *w.bot.vrx;
  EXPECT_EQ(r.frames, 10u);
  EXPECT_EQ(r.keyframes, 1u);
  EXPECT_EQ(r.packets, 21u);
  EXPECT_EQ(r.bytes, 21u * 100 + 21u * 4);
  EXPECT_EQ(r.first_frame_us, 1000);
  EXPECT_EQ(r.freezes, 0u);
  EXPECT_EQ(r.media_ssrc, 777u);
  EXPECT_TRUE(r.missing.empty());
}

TEST(BotVideo, WatcherTracksGapsAndRtxFillsThem) {
  WatcherRig w;
  w.frame(true, 1, 0);
  auto lost = w.frame(false, 3, 33'000, {1});
  auto& r = *w.bot.vrx;
  ASSERT_EQ(r.missing.size(), 1u);
  // An RTX packet: the original sequence number, then the original payload.
  rtc::RtpPacket orig;
  ASSERT_EQ(rtc::RtpPacket::parse(lost[1], orig), rtc::RtpParseStatus::kOk);
  std::vector<std::uint8_t> pl{static_cast<std::uint8_t>(orig.sequence_number() >> 8),
                               static_cast<std::uint8_t>(orig.sequence_number())};
  pl.insert(pl.end(), orig.payload().begin(), orig.payload().end());
  auto rtx = w.packet(kPtRtx, 9, orig.timestamp(), pl);
  auto copy = rtx;  // unwrapped in place
  video_on_rtp(w.bot, copy, 40'000);
  EXPECT_EQ(r.rtx_received, 1u);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_EQ(r.packets, 4u);
  video_on_rtp(w.bot, rtx, 41'000);  // a second copy: a duplicate, not a packet
  EXPECT_EQ(r.rtx_received, 2u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.packets, 4u);
  EXPECT_EQ(r.frames, 2u);
  // A gap never filled is a loss after 1 s (video_tick needs no transport for that part).
  w.frame(false, 3, 66'000, {2});
  w.frame(false, 1, 99'000);
  ASSERT_EQ(r.missing.size(), 1u);
  w.bot.link.srtp = rtc::SrtpSession::create(keys(false)).value();
  w.bot.sock = net::UdpSocket::bind(SocketAddress::v4(INADDR_LOOPBACK, 0));
  w.bot.link.peer = w.bot.sock.local_address();
  video_tick(w.bot, 100'000, false);
  EXPECT_EQ(r.nacks_sent, 1u);
  EXPECT_EQ(r.nacked_packets, 1u);
  video_tick(w.bot, 110'000, false);  // within the retry interval (20 ms): no second NACK
  EXPECT_EQ(r.nacks_sent, 1u);
  video_tick(w.bot, 1'200'000, false);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_EQ(r.packets_lost, 1u);
}

TEST(BotVideo, WatcherCountsFreezesByTheWebrtcDefinition) {
  WatcherRig w;
  std::int64_t t = 0;
  for (int i = 0; i < 30; ++i) w.frame(i == 0, 1, t += 33'333);
  // Mean ~33 ms: a freeze is a gap over max(100 ms, 183 ms) = 183 ms.
  w.frame(false, 1, t += 180'000);
  EXPECT_EQ(w.bot.vrx->freezes, 0u);
  w.frame(false, 1, t += 33'333);
  w.frame(false, 1, t += 250'000);
  EXPECT_EQ(w.bot.vrx->freezes, 1u);
  EXPECT_EQ(w.bot.vrx->freeze_us, 250'000);
}

TEST(RtpStamp, RoundTripsAsPaddingAndLeavesThePayload) {
  std::array<std::uint8_t, 1600> buf{};
  const std::array<std::uint8_t, 5> payload{1, 2, 3, 4, 5};
  rtc::RtpBuilder rb(buf, {96, true, 7, 9000, 42});
  rb.add_extension(4, rtc::as_bytes("0")).payload(payload);
  const std::size_t n = rb.finish();
  ASSERT_GT(n, 0u);
  const std::size_t m = rtp_stamp(buf, n, 0x0102030405060708ULL);
  ASSERT_EQ(m, n + kRtpStampBytes);
  rtc::RtpPacket p;
  ASSERT_EQ(rtc::RtpPacket::parse(rtc::MutableByteSpan(buf.data(), m), p),
            rtc::RtpParseStatus::kOk);
  EXPECT_TRUE(p.has_padding());
  EXPECT_EQ(p.padding_size(), kRtpStampBytes);
  ASSERT_EQ(p.payload().size(), payload.size());
  EXPECT_TRUE(std::equal(payload.begin(), payload.end(), p.payload().begin()));
  ASSERT_TRUE(rtp_read_stamp(p).has_value());
  EXPECT_EQ(*rtp_read_stamp(p), 0x0102030405060708ULL);
  // Already padded, too little room, not even a header: unchanged.
  EXPECT_EQ(rtp_stamp(buf, m, 1), m);
  EXPECT_EQ(rtp_stamp(rtc::MutableByteSpan(buf.data(), n + 10), n, 1), n);
  EXPECT_EQ(rtp_stamp(buf, 11, 1), 11u);
  // Padding that is not a stamp (e.g. a browser's) reads as none.
  buf[m - kRtpStampBytes] = 'X';
  ASSERT_EQ(rtc::RtpPacket::parse(rtc::MutableByteSpan(buf.data(), m), p),
            rtc::RtpParseStatus::kOk);
  EXPECT_FALSE(rtp_read_stamp(p).has_value());
}

TEST(BotVideo, MediaPacketsCarryTheSendStampAndRtxDoesNot) {
  PublisherRig rig(write_clip(10, {0}));
  const std::int64_t before = now_us();
  video_tick(rig.bot, 1'000'000, true);
  video_tick(rig.bot, 1'100'000, true);  // frames 0-3
  auto rx = rig.drain();
  ASSERT_GE(rx.size(), 4u);
  for (auto& p : rx) {
    ASSERT_TRUE(p.stamp.has_value());
    EXPECT_GE(static_cast<std::int64_t>(*p.stamp), before) << "a fresh clock reading per packet";
    EXPECT_LE(static_cast<std::int64_t>(*p.stamp), now_us());
  }
  std::vector<std::uint16_t> lost{rx[1].seq};
  rig.rtcp([&](rtc::ByteWriter& w) { return rtc::rtcp::write_nack(w, 9, rig.bot.ssrc, lost); },
           1'100'000);
  auto rtx = rig.drain();
  ASSERT_EQ(rtx.size(), 1u);
  EXPECT_EQ(rtx[0].pt, kPtRtx);
  EXPECT_FALSE(rtx[0].stamp.has_value());
  EXPECT_EQ(rtx[0].payload.size(), rx[1].payload.size() + 2) << "OSN + the payload, no stamp";
}

TEST(BotVideo, WatcherTakesLatencyFromStampedMediaInTheSfusPayloadTypes) {
  WatcherRig w;
  auto& r = *w.bot.vrx;
  r.pt_media = 100;  // as Janus may offer
  r.pt_rtx = 101;
  w.bot.latency_from_us = 50'000;
  std::array<std::uint8_t, 1600> buf{};
  const std::array<std::uint8_t, 8> key{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0};
  auto stamped = [&](std::uint8_t pt, std::uint16_t seq, std::uint64_t sent) {
    rtc::RtpBuilder rb(buf, {pt, true, seq, 3000u * seq, 777});
    rb.payload(key);
    return rtp_stamp(buf, rb.finish(), sent);
  };
  std::size_t n = stamped(100, 1, 10'000);
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), n), 12'000);  // warm-up: max only
  n = stamped(100, 2, 60'000);
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), n), 60'700);
  n = stamped(100, 3, 70'000);
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), n), 73'000);
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), n), 74'000);  // a duplicate: no sample
  n = stamped(96, 4, 80'000);                                        // not the watched video's type
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), n), 81'000);
  rtc::RtpBuilder plain(buf, {100, true, 5, 15000, 777});
  plain.payload(key);
  video_on_rtp(w.bot, rtc::MutableByteSpan(buf.data(), plain.finish()), 90'000);
  EXPECT_EQ(r.packets, 4u);
  EXPECT_EQ(r.frames, 4u);
  EXPECT_EQ(r.keyframes, 4u);
  EXPECT_EQ(r.warmup_latency_max_us, 2'000);
  EXPECT_EQ(r.latency_us, (std::vector<std::int32_t>{700, 3'000}));
  EXPECT_EQ(r.unstamped, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.audio_packets, 1u);
}

TEST(BotVideo, PacingSpreadsFramesAtTheMultipleOfTheClipBitrate) {
  // 10 frames of 100, 1100, 2100, ... bytes = 10000 bytes in 333 ms: 0.03 bytes/us; x4.
  PublisherRig rig(write_clip(10, {0}), 0, /*pace=*/4);
  auto& p = *rig.bot.vpub;
  ASSERT_NEAR(p.pace_bytes_per_us, 0.12, 0.001);
  const std::int64_t t0 = 1'000'000;
  std::size_t bytes = 0, packets = 0;
  std::vector<std::uint16_t> seqs;
  for (std::int64_t t = t0; t <= t0 + 600'000; t += 1'000) {
    video_tick(rig.bot, t, t < t0 + 333'000);  // frames 0-9, then the queue drains
    for (auto& rx : rig.drain()) {
      bytes += rx.payload.size();
      ++packets;
      seqs.push_back(rx.seq);
      ASSERT_TRUE(rx.stamp.has_value());
    }
    // Never ahead of the rate: at most the 5 ms budget plus one packet's overdraw.
    ASSERT_LE(static_cast<double>(bytes), 0.12 * static_cast<double>(t - t0) + 600 + 1200)
        << "at +" << (t - t0) / 1000 << " ms";
  }
  EXPECT_EQ(p.frames_sent, 10u);
  EXPECT_EQ(packets, p.packets_sent) << "the queue drained";
  EXPECT_TRUE(p.paced.empty());
  EXPECT_GE(p.pace_queue_max, 2u) << "a two-packet frame waited for the pacer";
  for (std::size_t i = 1; i < seqs.size(); ++i)
    EXPECT_EQ(seqs[i], static_cast<std::uint16_t>(seqs[i - 1] + 1)) << "in order";
}
