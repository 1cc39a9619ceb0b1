// The SFU's per-packet forwarding cost without sockets: one publisher's decrypted Opus packet
// (Chromium's four header extensions) parsed and indexed once, then Room::on_rtp hands it to
// each subscriber's Transport, which writes the subscriber's header and ids, numbers its
// transport-wide sequence and protects it (AES-GCM) into a send slot. Items are forwarded
// packets: CPU time per item is the cost of one forward. SRTP decrypt of the incoming packet
// is not included (BM_SrtpUnprotect in rtc_bench).
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "sfu/room.hpp"
#include "sfu/transport.hpp"
#include "unit/sfu/transport_harness.hpp"

using namespace hype;
using namespace hype::rtc;

namespace {

std::vector<std::uint8_t> opus_packet() {
  std::uint8_t buf[1500];
  RtpBuilder b(buf, {.payload_type = 111, .sequence_number = 0, .timestamp = 0, .ssrc = 100});
  std::uint8_t level = 0x9e, ast[3] = {1, 2, 3}, tcc[2] = {0, 7}, mid = '0';
  std::uint8_t payload[160];
  std::memset(payload, 0x5a, sizeof(payload));
  b.add_extension(1, ByteSpan(&level, 1))
      .add_extension(2, ast)
      .add_extension(3, tcc)
      .add_extension(4, ByteSpan(&mid, 1))
      .payload(payload);
  std::size_t n = b.finish();
  return {buf, buf + n};
}

const ExtensionIds kPubIds{.audio_level = 1, .abs_send_time = 2, .transport_cc = 3, .mid = 4};
const ExtensionIds kSubIds{.audio_level = 5, .transport_cc = 6, .mid = 7};

// N subscribers of `track`, each a Transport with DTLS-SRTP up, sending into one capture.
struct Subscribers {
  std::shared_ptr<DtlsCertificate> cert = DtlsCertificate::generate("sfu").value();
  std::shared_ptr<DtlsContext> ctx = DtlsContext::create(cert).value();
  sfu::testing::CaptureSender out;
  sfu::testing::RecordingEvents events;
  std::vector<std::unique_ptr<sfu::testing::Client>> clients;
  std::vector<std::unique_ptr<sfu::Transport>> transports;

  bool connect(std::size_t n, sfu::Room& room, sfu::Track& track, sfu::SfuCounters& counters) {
    for (std::size_t i = 0; i < n; ++i) {
      auto c =
          sfu::testing::Client::make(static_cast<std::uint16_t>(6000 + i), cert->sdp_fingerprint());
      auto d = DtlsSession::create(ctx, DtlsRole::kServer, c->cert->sdp_fingerprint());
      auto tr = std::make_unique<sfu::Transport>(
          c->params(1, 10 + i, kSubIds), std::move(d.value()), room,
          static_cast<std::uint32_t>(500 + i), out, counters, events);
      if (!c->connect(*tr, out)) return false;
      room.subscribe(10 + i, track, static_cast<std::uint32_t>(1000 + i), 0, 0);
      clients.push_back(std::move(c));
      transports.push_back(std::move(tr));
    }
    out.keep = false;
    out.sent.clear();
    out.count = 0;
    return true;
  }
};

void BM_ForwardOneToN(benchmark::State& state) {
  const auto subs = static_cast<std::size_t>(state.range(0));
  sfu::SfuCounters counters;
  sfu::Room room(1, {}, 3, &counters);
  auto& pub = room.add_participant(1);
  pub.ext = kPubIds;
  sfu::Track* t = room.publish(1, 100, sfu::MediaKind::kAudio, 111, 48000, "0");
  Subscribers subscribers;
  if (!subscribers.connect(subs, room, *t, counters)) {
    state.SkipWithError("connect failed");
    return;
  }
  auto& out = subscribers.out;
  auto plain = opus_packet();
  std::vector<std::uint8_t> rx(1600);
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::int64_t now_us = 1'000'000;
  for (auto _ : state) {
    std::memcpy(rx.data(), plain.data(), plain.size());
    store_be16(rx.data() + 2, seq++);
    store_be32(rx.data() + 4, ts);
    ts += 960;
    now_us += 20'000;
    RtpPacket p;
    RtpPacket::parse(MutableByteSpan(rx.data(), plain.size()), p);
    PacketExtensions ext;
    index_extensions(p, pub.ext, ext);
    room.on_rtp(pub, p, ext, now_us);
  }
  if (out.count != state.iterations() * subs) state.SkipWithError("not every packet was sent");
  state.SetItemsProcessed(static_cast<std::int64_t>(out.count));
}
// Fixed iterations: one source runs at most 32768 packets (see RtpRewriter) per run.
BENCHMARK(BM_ForwardOneToN)
    ->Arg(1)
    ->Arg(10)
    ->Arg(50)
    ->Iterations(30000)
    ->Repetitions(15)
    ->ReportAggregatesOnly(true);

// A 1080p screen-share packet: a VP8 payload descriptor (15-bit picture id), 1150 bytes of
// frame data, abs-send-time, transport-cc and mid. Every 30th packet starts a key frame.
std::vector<std::uint8_t> vp8_packet(bool key) {
  std::uint8_t buf[1500];
  RtpBuilder b(buf, {.payload_type = 96, .sequence_number = 0, .timestamp = 0, .ssrc = 200});
  std::uint8_t ast[3] = {1, 2, 3}, tcc[2] = {0, 7}, mid = '1';
  std::uint8_t payload[1160];
  std::memset(payload, 0x5a, sizeof(payload));
  payload[0] = 0x90;  // X, S
  payload[1] = 0x80;  // I
  payload[2] = 0x81;  // picture id, 15 bits
  payload[3] = 0x23;
  payload[4] = key ? 0x00 : 0x01;  // VP8 payload header: P
  payload[7] = 0x9d;
  payload[8] = 0x01;
  payload[9] = 0x2a;
  b.add_extension(2, ast)
      .add_extension(3, tcc)
      .add_extension(4, ByteSpan(&mid, 1))
      .payload(payload);
  std::size_t n = b.finish();
  return {buf, buf + n};
}

// One screen-share packet forwarded to N watchers (keyframe detection, per-watcher payload
// type and numbers, header rewrite, AES-GCM): items are forwarded packets.
void BM_ForwardVideoOneToN(benchmark::State& state) {
  const auto subs = static_cast<std::size_t>(state.range(0));
  sfu::SfuCounters counters;
  sfu::Room room(1, {}, 3, &counters);
  auto& pub = room.add_participant(sfu::stream_participant(1));
  pub.ext = kPubIds;
  sfu::PublishedTrack spec;
  spec.ssrc = 200;
  spec.kind = sfu::MediaKind::kVideo;
  spec.payload_type = 96;
  spec.clock_rate = 90000;
  spec.mid = "1";
  spec.source = sfu::TrackSource::kScreen;
  spec.codec = "VP8";
  sfu::Track* t = room.publish(pub.id, spec);
  Subscribers subscribers;
  if (!subscribers.connect(subs, room, *t, counters)) {
    state.SkipWithError("connect failed");
    return;
  }
  auto& out = subscribers.out;
  auto key = vp8_packet(true), delta = vp8_packet(false);
  std::vector<std::uint8_t> rx(1600);
  std::uint16_t seq = 0;
  std::uint32_t ts = 0;
  std::int64_t now_us = 1'000'000;
  for (auto _ : state) {
    const auto& plain = seq % 30 == 0 ? key : delta;
    std::memcpy(rx.data(), plain.data(), plain.size());
    store_be16(rx.data() + 2, seq++);
    store_be32(rx.data() + 4, ts);
    ts += 300;
    now_us += 1'800;  // ~550 packets/s: 6 Mbps
    RtpPacket p;
    RtpPacket::parse(MutableByteSpan(rx.data(), plain.size()), p);
    PacketExtensions ext;
    index_extensions(p, pub.ext, ext);
    room.on_rtp(pub, p, ext, now_us);
  }
  if (out.count != state.iterations() * subs) state.SkipWithError("not every packet was sent");
  state.SetItemsProcessed(static_cast<std::int64_t>(out.count));
}
BENCHMARK(BM_ForwardVideoOneToN)
    ->Arg(10)
    ->Arg(50)
    ->Arg(100)
    ->Iterations(20000)
    ->Repetitions(9)
    ->ReportAggregatesOnly(true);

}  // namespace
