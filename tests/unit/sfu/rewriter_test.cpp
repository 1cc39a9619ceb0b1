#include <gtest/gtest.h>

#include "sfu/pli_throttle.hpp"
#include "sfu/receive_stats.hpp"
#include "sfu/rtp_rewriter.hpp"

using hype::sfu::PliThrottle;
using hype::sfu::ReceiveStats;
using hype::sfu::RtpRewriter;

TEST(RtpRewriter, MapsOneSourceWithConstantOffsets) {
  RtpRewriter r(0x1111, 48000, 1000, 50000);
  auto a = r.rewrite(0xAAAA, 7, 960, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 1000);
  EXPECT_EQ(a->ts, 50000u);
  auto b = r.rewrite(0xAAAA, 8, 1920, 20);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->seq, 1001);
  EXPECT_EQ(b->ts, 50960u);
  // Reordered packet keeps its place; it does not move last_out.
  auto c = r.rewrite(0xAAAA, 10, 3840, 60);
  auto d = r.rewrite(0xAAAA, 9, 2880, 61);
  ASSERT_TRUE(c && d);
  EXPECT_EQ(c->seq, 1003);
  EXPECT_EQ(d->seq, 1002);
  EXPECT_EQ(r.last_out_seq(), 1003);
}

TEST(RtpRewriter, WrapsSequenceAndTimestamp) {
  RtpRewriter r(1, 48000, 65534, 0xFFFFFC40u);
  auto a = r.rewrite(5, 100, 0, 0);
  auto b = r.rewrite(5, 101, 960, 20);
  auto c = r.rewrite(5, 102, 1920, 40);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->seq, 65534);
  EXPECT_EQ(b->seq, 65535);
  EXPECT_EQ(c->seq, 0);
  EXPECT_EQ(b->ts, 0u);
  EXPECT_EQ(c->ts, 960u);
}

TEST(RtpRewriter, ContinuesAcrossSourceSwitch) {
  RtpRewriter r(1, 48000, 500, 10000);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(r.rewrite(0xA, static_cast<std::uint16_t>(40000 + i), 123456u + 960u * i, 20 * i));
  EXPECT_EQ(r.last_out_seq(), 504);
  // Another speaker takes the slot 100 ms after the last packet, with unrelated numbers.
  auto s = r.rewrite(0xB, 7, 999, 80 + 100);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->seq, 505);                     // no gap, no repeat
  EXPECT_EQ(s->ts, 10000u + 4 * 960 + 4800);  // 100 ms later at 48 kHz
  EXPECT_EQ(r.switches(), 1u);
  // A late packet of the old source is now dropped (its numbers would collide).
  EXPECT_FALSE(r.rewrite(0xA, 40005, 0, 181));
  // ... and the new source continues normally; an older packet of the new source is dropped.
  EXPECT_EQ(r.rewrite(0xB, 8, 1959, 200)->seq, 506);
  EXPECT_FALSE(r.rewrite(0xB, 6, 39, 201));
}

TEST(RtpRewriter, SwitchWithoutElapsedTimeStillAdvancesTimestamp) {
  RtpRewriter r(1, 48000, 0, 0);
  ASSERT_TRUE(r.rewrite(1, 1, 0, 100));
  auto s = r.rewrite(2, 1, 0, 100);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ts, 1u);
}

TEST(RtpRewriter, SourceSeqForNack) {
  RtpRewriter r(1, 48000, 100, 0);
  for (std::uint16_t i = 0; i < 10; ++i) r.rewrite(9, static_cast<std::uint16_t>(2000 + i), 0, i);
  EXPECT_EQ(r.source_seq(105), std::optional<std::uint16_t>(2005));
  EXPECT_FALSE(r.source_seq(110));  // not sent yet
  EXPECT_FALSE(r.source_seq(99));   // before this source
  r.rewrite(10, 1, 0, 50);          // switch
  EXPECT_FALSE(r.source_seq(105));  // belongs to the old source
  EXPECT_EQ(r.source_seq(110), std::optional<std::uint16_t>(1));
}

// A source that keeps one slot for more than 32768 packets (about 11 minutes of Opus at 20 ms,
// far less for video) must go on being forwarded, across its sequence number wrap, and its
// packets must stay answerable for NACKs; only packets from before it took the slot drop.
TEST(RtpRewriter, ALongRunningSourceIsNeverTakenForStale) {
  RtpRewriter r(9, 48000, 100, 0);
  ASSERT_TRUE(r.rewrite(1, 60000, 0, 0));     // the slot's first source...
  ASSERT_TRUE(r.rewrite(2, 50000, 0, 1000));  // ...then this one takes it over at 50000
  EXPECT_FALSE(r.rewrite(2, 49990, 0, 1001).has_value()) << "from before the switch";
  std::int64_t now = 1000;
  std::uint16_t out = 0;
  for (int i = 1; i <= 70000; ++i) {
    now += 20;
    auto o = r.rewrite(2, static_cast<std::uint16_t>(50000 + i),
                       static_cast<std::uint32_t>(i * 960), now);
    ASSERT_TRUE(o.has_value()) << "packet " << i << " of one source was dropped";
    out = o->seq;
  }
  auto last_src = static_cast<std::uint16_t>(50000 + 70000);
  EXPECT_EQ(r.source_seq(out), std::optional<std::uint16_t>(last_src));
  EXPECT_EQ(r.source_seq(static_cast<std::uint16_t>(out - 10)),
            std::optional<std::uint16_t>(static_cast<std::uint16_t>(last_src - 10)));
}

TEST(PliThrottle, OnePerInterval) {
  PliThrottle t(500);
  EXPECT_TRUE(t.allow(1000));
  EXPECT_FALSE(t.allow(1001));
  EXPECT_FALSE(t.allow(1499));
  EXPECT_TRUE(t.allow(1500));
  EXPECT_EQ(t.suppressed(), 2u);
}

TEST(ReceiveStats, LossAndFraction) {
  ReceiveStats s(48000);
  std::int64_t t = 0;
  for (std::uint16_t seq = 65530; seq != 10; ++seq) {  // wraps
    if (seq == 65535 || seq == 3) continue;            // two lost
    s.on_packet(seq, static_cast<std::uint32_t>(seq) * 960, t += 20000);
  }
  EXPECT_EQ(s.expected(), 16);
  EXPECT_EQ(s.lost(), 2);
  auto rb = s.make_report(42);
  EXPECT_EQ(rb.ssrc, 42u);
  EXPECT_EQ(rb.cumulative_lost, 2);
  EXPECT_EQ(rb.fraction_lost, (2 << 8) / 16);
  EXPECT_EQ(rb.extended_highest_seq, 65536u + 9);
  auto rb2 = s.make_report(42);
  EXPECT_EQ(rb2.fraction_lost, 0);
}

// Opus DTX: during silence the sender skips frames (timestamps jump, sequence numbers do
// not), sending a comfort-noise update every 400 ms. Nothing is lost, and the jitter stays
// what the network did (here: none), not the silence.
TEST(ReceiveStats, DtxSilenceIsNeitherLossNorJitter) {
  ReceiveStats s(48000);
  std::uint16_t seq = 100;
  std::uint32_t ts = 0;
  std::int64_t t = 0;
  for (int i = 0; i < 50; ++i) s.on_packet(seq++, ts += 960, t += 20000);     // talking
  for (int i = 0; i < 10; ++i) s.on_packet(seq++, ts += 19200, t += 400000);  // DTX
  for (int i = 0; i < 50; ++i) s.on_packet(seq++, ts += 960, t += 20000);     // talking again
  EXPECT_EQ(s.lost(), 0);
  EXPECT_EQ(s.make_report(1).fraction_lost, 0);
  EXPECT_LT(s.jitter_ticks(), 1.0);
}

TEST(RtpRewriter, DetachedSlotResumesWithoutAGapWhenItsSourceComesBack) {
  // Last-N: a slot loses its speaker and gets the same one back a while later. The source's
  // own numbers moved on meanwhile (packets that went to nobody); the slot's must not jump.
  RtpRewriter r(0x1111, 48000, 500, 1000);
  ASSERT_TRUE(r.rewrite(0xAAAA, 10, 9600, 0));
  ASSERT_TRUE(r.rewrite(0xAAAA, 11, 10560, 20));
  r.detach();
  EXPECT_FALSE(r.source_seq(501));  // nothing to resend for a detached slot
  auto back = r.rewrite(0xAAAA, 111, 10560 + 100 * 960, 2020);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->seq, 502);
  EXPECT_EQ(back->ts, 1960u + 2000u * 48);  // the clock moved on by the 2 s that passed
  auto next = r.rewrite(0xAAAA, 112, 10560 + 101 * 960, 2040);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 503);
  EXPECT_EQ(next->ts, back->ts + 960);
}

// A temporal layer the subscriber does not take: its packets are skipped and the numbers
// after them close up, so the receiver sees no gap; NACKs map back across the skips.
TEST(RtpRewriter, SkippedPacketsLeaveNoGap) {
  RtpRewriter r(1, 90000, 500, 0);
  ASSERT_TRUE(r.rewrite(9, 100, 0, 0));  // out 500
  r.skip(9, 101);
  r.skip(9, 102);
  auto a = r.rewrite(9, 103, 3000, 33);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 501);
  r.skip(9, 104);
  auto b = r.rewrite(9, 105, 6000, 66);
  auto c = r.rewrite(9, 106, 6000, 66);
  ASSERT_TRUE(b && c);
  EXPECT_EQ(b->seq, 502);
  EXPECT_EQ(c->seq, 503);
  EXPECT_EQ(r.skipped(), 3u);
  EXPECT_EQ(r.source_seq(500), 100);
  EXPECT_EQ(r.source_seq(501), 103);
  EXPECT_EQ(r.source_seq(502), 105);
  EXPECT_EQ(r.source_seq(503), 106);
  EXPECT_FALSE(r.source_seq(504));  // not sent yet
}

TEST(RtpRewriter, AReorderedPacketBetweenSkipsGetsItsOwnNumber) {
  RtpRewriter r(1, 90000, 10, 0);
  ASSERT_TRUE(r.rewrite(9, 200, 0, 0));  // out 10
  // 201 is late; 202 skipped, 203 forwarded, then 201 arrives.
  r.skip(9, 202);
  auto a = r.rewrite(9, 203, 0, 10);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 12);  // 201 still to come: its number (11) stays free
  auto late = r.rewrite(9, 201, 0, 12);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->seq, 11);
  EXPECT_EQ(r.source_seq(11), 201);
  EXPECT_EQ(r.source_seq(12), 203);
  // A late packet of a skipped layer cannot be taken back: its hole stays, nothing moves.
  r.skip(9, 199);
  auto d = r.rewrite(9, 204, 0, 20);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 13);
}

// A packet skipped once (a picture above the viewer's temporal layer, or a packet lost upstream
// inside one) gave its number to the packet after it: when it comes again (a retransmission),
// it is dropped rather than numbered over a packet already sent.
TEST(RtpRewriter, ASkippedPacketIsNeverNumberedLater) {
  RtpRewriter r(1, 90000, 10, 0);
  ASSERT_TRUE(r.rewrite(9, 300, 0, 0));  // out 10
  r.skip(9, 301);
  r.skip(9, 302);
  auto a = r.rewrite(9, 303, 0, 10);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 11);
  EXPECT_FALSE(r.rewrite(9, 302, 0, 20));
  EXPECT_FALSE(r.rewrite(9, 301, 0, 20));
  r.skip(9, 302);  // skipped again: counted once
  EXPECT_EQ(r.skipped(), 2u);
  auto b = r.rewrite(9, 304, 0, 30);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->seq, 12);
}

TEST(RtpRewriter, SkipsWrapAndStartOverWithANewSource) {
  RtpRewriter r(1, 90000, 0, 0);
  ASSERT_TRUE(r.rewrite(9, 65534, 0, 0));  // out 0
  r.skip(9, 65535);
  auto a = r.rewrite(9, 0, 0, 10);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(r.source_seq(1), 0);
  EXPECT_EQ(r.source_seq(0), 65534);
  // Another layer takes over: it continues right after, its own numbers not shifted by the
  // old source's skips.
  r.detach();
  auto b = r.rewrite(7, 4000, 0, 20);
  auto c = r.rewrite(7, 4001, 0, 30);
  ASSERT_TRUE(b && c);
  EXPECT_EQ(b->seq, 2);
  EXPECT_EQ(c->seq, 3);
  EXPECT_EQ(r.skipped(), 0u);
  EXPECT_FALSE(r.source_seq(1));  // the old source's
  // Skips of a source that is not the current one change nothing.
  r.skip(9, 1);
  auto d = r.rewrite(7, 4002, 0, 40);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->seq, 4);
}

TEST(RtpRewriter, APacketOlderThanTheRememberedSkipsIsDropped) {
  RtpRewriter r(1, 90000, 0, 0);
  ASSERT_TRUE(r.rewrite(9, 0, 0, 0));
  // Skip every other packet from 2 on, more than the history holds; 1 never came.
  std::uint16_t seq = 2;
  for (std::size_t i = 0; i < RtpRewriter::kSkipHistory + 5; ++i, seq += 2) {
    r.skip(9, seq);
    ASSERT_TRUE(r.rewrite(9, static_cast<std::uint16_t>(seq + 1), 0, 1));
  }
  // 1 is older than every remembered skip: how many came before it is not known any more.
  EXPECT_FALSE(r.rewrite(9, 1, 0, 2));
  // The newest ones still map both ways.
  auto last = r.rewrite(9, seq, 0, 3);
  ASSERT_TRUE(last);
  EXPECT_EQ(r.source_seq(last->seq), seq);
  EXPECT_EQ(r.source_seq(static_cast<std::uint16_t>(last->seq - 1)), seq - 1);
}
