// The SFU room's video forwarding on arbitrary input: a simulcast VP8 stream (three layers
// with temporal layers, bound by rid) and two viewers, driven by a script read from the
// fuzzer's bytes: packets of any layer with any sequence number, payload descriptor and
// marker (or raw payload bytes), ticks, downlink estimates that change, NACKs from the
// viewers. Besides staying alive under ASan/UBSan, the room must never give one outgoing
// sequence number of a viewer to two different source packets (the rewriter's skips, the
// munger and the layer switches together), and every packet it hands a viewer must be one
// of the layers' packets, never a picture above the viewer's temporal layer.
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/video/vp8.hpp"
#include "sfu/room.hpp"

using namespace hype::sfu;
using hype::rtc::RtpBuilder;
using hype::rtc::RtpPacket;

namespace {

constexpr std::uint8_t kVp8 = 96;
constexpr std::uint8_t kRtx = 97;
constexpr std::uint8_t kExtMid = 4, kExtRid = 10, kExtRepairedRid = 11;
constexpr std::array<std::uint32_t, 3> kLayerSsrc{6000, 6100, 6200};
const std::array<std::string, 3> kRids{"q", "h", "f"};

// Reads the script; past the end every read gives 0.
struct Script {
  const std::uint8_t* p;
  std::size_t n;
  std::size_t at = 0;
  bool done() const { return at >= n; }
  std::uint8_t u8() { return at < n ? p[at++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
};

class Viewer final : public Endpoint {
 public:
  void send_rtp(const Subscription& sub, const RtpPacket& p, const hype::rtc::PacketExtensions&,
                std::uint16_t seq, std::uint32_t) override {
    bool known = false;
    for (std::uint32_t s : kLayerSsrc) known |= p.ssrc() == s;
    if (!known) __builtin_trap();
    // Nothing above the temporal step a number went out under (a resend goes by the step its
    // number was first sent under; padding may go under any number).
    const auto info = hype::rtc::video::inspect_vp8(p.payload());
    const int step = sub.step_at(seq);
    if (!p.payload().empty() && info.valid && info.temporal_id >= 0 &&
        (step == Subscription::kTemporalNone || (step >= 0 && info.temporal_id > step)))
      __builtin_trap();
    // One outgoing number, one source packet, resends included (numbers unwrapped against
    // the newest one: a script moves them by far less than half the space per packet).
    std::int64_t ext = seq;
    if (any) {
      ext = newest + static_cast<std::int16_t>(seq - static_cast<std::uint16_t>(newest));
      if (ext > newest) newest = ext;
    } else {
      newest = ext;
      any = true;
    }
    const std::pair<std::uint32_t, std::uint16_t> src{p.ssrc(), p.sequence_number()};
    auto [it, fresh] = sent.emplace(ext, src);
    if (!fresh && it->second != src) __builtin_trap();
  }
  void request_keyframe(std::uint32_t) override {}
  std::uint64_t downlink_estimate_bps() const override { return estimate; }
  std::map<std::int64_t, std::pair<std::uint32_t, std::uint16_t>> sent;
  std::int64_t newest = 0;
  bool any = false;
  std::uint64_t estimate = 0;
};

class Publisher final : public Endpoint {
 public:
  void send_rtp(const Subscription&, const RtpPacket&, const hype::rtc::PacketExtensions&,
                std::uint16_t, std::uint32_t) override {}
  void request_keyframe(std::uint32_t) override {}
};

// A VP8 payload: the extended descriptor with a 15-bit (or, with `short_id`, 7-bit) picture
// id, TL0PICIDX and TID/Y from `flags`, then a keyframe header or not.
std::vector<std::uint8_t> vp8(Script& s, std::uint8_t flags, int picture_id, int tl0,
                              bool short_id) {
  const bool start = flags & 0x01, key = flags & 0x02, sync = flags & 0x08;
  const int tid = (flags >> 4) & 0x03;
  std::vector<std::uint8_t> p(8 + s.u8() % 48, 0xAB);
  std::size_t at = 0;
  p[at++] = static_cast<std::uint8_t>(0x80 | (start ? 0x10 : 0x00));
  p[at++] = 0xE0;
  if (short_id) {
    p[at++] = static_cast<std::uint8_t>(picture_id & 0x7F);
  } else {
    p[at++] = static_cast<std::uint8_t>(0x80 | ((picture_id >> 8) & 0x7F));
    p[at++] = static_cast<std::uint8_t>(picture_id & 0xFF);
  }
  p[at++] = static_cast<std::uint8_t>(tl0);
  p[at++] = static_cast<std::uint8_t>(tid << 6 | (sync ? 0x20 : 0));
  p[at] = key ? 0x00 : 0x01;
  if (key) {
    for (std::size_t k = 3; k < 6 && at + k < p.size(); ++k)
      p[at + k] = static_cast<std::uint8_t>(k == 3 ? 0x9d : k == 4 ? 0x01 : 0x2a);
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  SfuCounters node;
  Room room{1, SpeakerOptions{}, 3, &node};
  Publisher pub;
  std::array<Viewer, 2> viewers;
  const ParticipantId streamer = stream_participant(1);
  Participant& p = room.add_participant(streamer);
  p.endpoint = &pub;
  p.ext.mid = kExtMid;
  p.ext.rid = kExtRid;
  p.ext.repaired_rid = kExtRepairedRid;
  PublishedTrack t;
  t.kind = MediaKind::kVideo;
  t.payload_type = kVp8;
  t.clock_rate = 90000;
  t.mid = "1";
  t.source = TrackSource::kScreen;
  t.codec = "VP8";
  t.rtx_payload_type = kRtx;
  t.rids = {kRids.begin(), kRids.end()};
  Track* video = room.publish(streamer, t);
  if (!video) __builtin_trap();
  for (std::size_t v = 0; v < viewers.size(); ++v) {
    const auto id = static_cast<ParticipantId>(2 + v);
    auto& vp = room.add_participant(id);
    vp.endpoint = &viewers[v];
    vp.video_codecs = {{"VP8", 120, 121}};
    const auto out = static_cast<std::uint32_t>(8000 + 100 * v);
    if (!room.subscribe(id, *video, out, 10, 20, out + 1)) __builtin_trap();
  }

  Script s{data, size};
  std::int64_t now_ms = 1000;
  std::array<std::uint16_t, 3> seq{100, 2000, 30000};
  std::array<int, 3> pid{100, 5000, 20000};
  std::array<int, 3> tl0{0, 0, 0};
  std::array<std::uint32_t, 3> ts{0, 0, 0};
  std::vector<std::uint8_t> buf(512);
  // The first byte picks the stream's picture id width (a sender keeps one).
  const bool short_ids = s.u8() & 0x01;
  for (int ops = 0; ops < 2000 && !s.done(); ++ops) {
    const std::uint8_t op = s.u8();
    switch (op % 8) {
      default: {  // a packet (most ops)
        const std::size_t l = (op >> 3) % 3;
        seq[l] = static_cast<std::uint16_t>(seq[l] + static_cast<std::int8_t>(s.u8()));
        const std::uint8_t flags = s.u8();
        if (flags & 0x01) {  // a new picture (a picture id step, maybe backwards or far)
          pid[l] = (pid[l] + static_cast<std::int8_t>(s.u8())) & 0x7FFF;
          if ((flags & 0x30) == 0) tl0[l] = (tl0[l] + 1) & 0xFF;
          ts[l] += 3000;
        }
        std::vector<std::uint8_t> payload;
        if (flags & 0x40) {  // raw bytes
          const std::size_t len = s.u8() % 64;
          for (std::size_t i = 0; i < len; ++i) payload.push_back(s.u8());
        } else {
          payload = vp8(s, flags, pid[l], tl0[l], short_ids);
        }
        RtpBuilder b(buf, {kVp8, (flags & 0x04) != 0, seq[l], ts[l], kLayerSsrc[l]});
        b.add_extension(kExtMid, hype::rtc::as_bytes("1"));
        b.add_extension(kExtRid, hype::rtc::as_bytes(kRids[l]));
        b.payload(payload);
        std::vector<std::uint8_t> pkt_bytes(buf.begin(), buf.begin() + b.finish());
        RtpPacket pkt;
        if (RtpPacket::parse(pkt_bytes, pkt) != hype::rtc::RtpParseStatus::kOk) break;
        if (!room.track_by_ssrc(pkt.ssrc())) room.bind_layer(p, pkt);
        hype::rtc::PacketExtensions ext;
        room.on_rtp(p, pkt, ext, now_ms * 1000);
        break;
      }
      case 5:  // time passes
        now_ms += 1 + s.u8();
        room.on_tick(now_ms);
        break;
      case 6: {  // a viewer's estimate changes (0: unknown)
        Viewer& v = viewers[s.u8() % viewers.size()];
        v.estimate = static_cast<std::uint64_t>(s.u16()) * 100;
        break;
      }
      case 7: {  // a viewer NACKs a few of its numbers
        const std::size_t v = s.u8() % viewers.size();
        std::vector<std::uint16_t> seqs(1 + s.u8() % 4);
        for (auto& q : seqs) q = s.u16();
        room.on_nack(static_cast<ParticipantId>(2 + v), static_cast<std::uint32_t>(8000 + 100 * v),
                     seqs, now_ms);
        break;
      }
    }
  }
  return 0;
}
