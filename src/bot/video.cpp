// hype-bot's video media (video.hpp): the clip, the publisher's pacing, RTX and keyframe
// jumps, the watcher's counting, NACKs and PLIs.
#include "bot/video.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "bot/bot.hpp"
#include "bot/options.hpp"
#include "bot/rtp_stamp.hpp"
#include "core/random.hpp"
#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/rtp/rtp_packet.hpp"
#include "rtc/rtp/rtx.hpp"
#include "rtc/sdp/sdp.hpp"
#include "rtc/video/payload.hpp"
#include "rtc/video/vp8_packetizer.hpp"

namespace hype::bot {

namespace {

// A gap still open after this is a loss (the NackGenerator gives up at the same age).
constexpr std::int64_t kGiveUpUs = 1'000'000;
constexpr std::int64_t kMaxGap = 256;  // larger jumps are counted lost, not NACKed (as it does)
constexpr std::size_t kMaxNackPerPacket = 64;

// Whether a VP8 RTP payload starts a keyframe (rtc::video::inspect_vp8, RFC 7741).
bool starts_keyframe(rtc::ByteSpan payload) {
  const auto i = rtc::video::inspect_vp8(payload);
  return i.valid && i.frame_start && i.keyframe;
}

// A clip frame is a keyframe when its first packet starts one.
bool is_keyframe(rtc::ByteSpan frame) {
  std::array<std::uint8_t, kVideoMaxPayload> pl{};
  const std::size_t n = rtc::video::Vp8Packetizer(kVideoMaxPayload).write(frame, 0, 0, pl);
  return n > 0 && starts_keyframe({pl.data(), n});
}

void send_rtp(Bot& b, std::array<std::uint8_t, 1600>& buf, std::size_t n) {
  if (n == 0 || !b.link.srtp || !b.link.peer ||
      b.link.srtp->protect_rtp(buf, n) != rtc::SrtpStatus::kOk)
    return;
  b.sock.send_to(*b.link.peer, buf.data(), n);
}

void send_rtcp(Bot& b, std::array<std::uint8_t, 1600>& buf, std::size_t n) {
  if (n == 0 || !b.link.srtp || !b.link.peer ||
      b.link.srtp->protect_rtcp(buf, n) != rtc::SrtpStatus::kOk)
    return;
  b.sock.send_to(*b.link.peer, buf.data(), n);
}

// One RTP packet of the publisher's video (media or RTX) with mid and transport-cc.
std::size_t build(Bot& b, std::array<std::uint8_t, 1600>& buf, std::uint8_t pt, bool marker,
                  std::uint16_t seq, std::uint32_t ts, std::uint32_t ssrc, rtc::ByteSpan payload) {
  std::array<std::uint8_t, 2> tw{};
  rtc::store_be16(tw.data(), b.twcc_seq++);
  rtc::RtpBuilder rb(buf, {pt, marker, seq, ts, ssrc});
  rb.add_extension(kExtTwcc, tw).add_extension(kExtMid, rtc::as_bytes("0")).payload(payload);
  return rb.finish();
}

// Sends a packet of the history as media, with a fresh send stamp in its padding.
void send_media(Bot& b, VideoPublisher& p, const VideoPublisher::Sent& h,
                std::array<std::uint8_t, 1600>& buf) {
  const std::size_t n =
      build(b, buf, kPtVp8, h.marker, h.seq, h.ts, p.ssrc, {h.payload.data(), h.size});
  send_rtp(b, buf, rtp_stamp(buf, n, static_cast<std::uint64_t>(now_us())));
}

// --pace: sends queued packets while the budget lasts.
void pace(Bot& b, VideoPublisher& p, std::int64_t now) {
  const double cap = p.pace_bytes_per_us * 5'000;  // at most 5 ms of the rate at once
  if (p.pace_last_us >= 0)
    p.pace_budget = std::min(
        cap, p.pace_budget + p.pace_bytes_per_us * static_cast<double>(now - p.pace_last_us));
  p.pace_last_us = now;
  std::array<std::uint8_t, 1600> buf{};
  while (!p.paced.empty() && p.pace_budget > 0) {
    const VideoPublisher::Sent& h = p.history[p.paced.front() % kSendHistory];
    p.paced.pop_front();
    if (!h.valid) continue;
    send_media(b, p, h, buf);
    p.pace_budget -= static_cast<double>(h.size);
  }
  if (p.paced.empty() && p.pace_budget > 0) p.pace_budget = 0;  // no credit saved up while idle
}

void send_frame(Bot& b, VideoPublisher& p, std::size_t index) {
  const VideoClip::Frame& f = p.clip->frames[index];
  const rtc::video::Vp8Packetizer pk(kVideoMaxPayload);
  const std::size_t count = pk.packet_count(f.data.size());
  const auto ts = static_cast<std::uint32_t>(p.ts_base + p.next_90k);
  std::array<std::uint8_t, 1600> buf{};
  for (std::size_t i = 0; i < count; ++i) {
    VideoPublisher::Sent& h = p.history[p.seq % kSendHistory];
    std::size_t len = pk.write(f.data, p.picture_id, i, h.payload);
    if (len == 0) return;
    h.seq = p.seq;
    h.valid = true;
    h.marker = i + 1 == count;
    h.ts = ts;
    h.size = static_cast<std::uint16_t>(len);
    const std::uint16_t seq = p.seq++;
    ++p.packets_sent;
    p.bytes_sent += len;
    if (p.drop_every > 0 && p.packets_sent % static_cast<std::uint64_t>(p.drop_every) == 0) {
      ++p.packets_dropped;  // kept in the history: a NACK gets it as RTX
      continue;
    }
    if (p.pace_bytes_per_us > 0) {
      p.paced.push_back(seq);
      p.pace_queue_max = std::max<std::uint64_t>(p.pace_queue_max, p.paced.size());
      continue;
    }
    send_media(b, p, h, buf);
  }
  p.picture_id = static_cast<std::uint16_t>((p.picture_id + 1) & 0x7FFF);
  ++p.frames_sent;
  p.keyframes_sent += f.key;
}

void publisher_tick(Bot& b, VideoPublisher& p, std::int64_t now) {
  const VideoClip& c = *p.clip;
  if (p.started_us < 0) {
    p.started_us = p.next_us = now;
    p.want_key = false;  // frame 0 is a keyframe
  }
  // After a stall (a loaded box) of over a second: no burst of old frames, resume now.
  if (now - p.next_us > 1'000'000) p.next_us = now;
  while (now >= p.next_us) {
    if (p.want_key && !c.frames[p.next_frame].key) {
      std::size_t k = p.next_frame;
      do k = (k + 1) % c.frames.size();
      while (!c.frames[k].key && k != p.next_frame);
      if (k < p.next_frame) ++p.loops;
      p.next_frame = k;
      ++p.keyframe_jumps;
    }
    p.want_key = false;
    const std::size_t i = p.next_frame;
    send_frame(b, p, i);
    p.next_us += c.frames[i].duration_us;
    p.next_90k += c.frames[i].duration_90k;
    if (++p.next_frame == c.frames.size()) {
      p.next_frame = 0;
      ++p.loops;
    }
  }
  if (p.pace_bytes_per_us > 0) pace(b, p, now);
}

void send_rtx(Bot& b, VideoPublisher& p, std::uint16_t seq) {
  const VideoPublisher::Sent& h = p.history[seq % kSendHistory];
  if (!h.valid || h.seq != seq) {
    ++p.rtx_unavailable;
    return;
  }
  std::array<std::uint8_t, kVideoMaxPayload + 2> pl{};
  rtc::store_be16(pl.data(), seq);  // RFC 4588: the original sequence number first
  std::copy_n(h.payload.begin(), h.size, pl.begin() + 2);
  std::array<std::uint8_t, 1600> buf{};
  send_rtp(
      b, buf,
      build(b, buf, kPtRtx, h.marker, p.rtx_seq++, h.ts, p.rtx_ssrc, {pl.data(), h.size + 2u}));
  ++p.rtx_sent;
}

// Counts a frame (a new RTP timestamp) and checks the gap since the previous one for a freeze.
void on_frame(VideoReceiver& r, std::int64_t now) {
  ++r.frames;
  if (r.first_frame_us < 0) r.first_frame_us = now;
  if (r.last_frame_us >= 0) {
    const std::int64_t gap = now - r.last_frame_us;
    if (r.intervals > 0) {
      const std::int64_t mean = r.interval_sum_us / static_cast<std::int64_t>(r.intervals);
      if (gap > std::max(3 * mean, mean + 150'000)) {
        ++r.freezes;
        r.freeze_us += gap;
      }
    }
    r.interval_sum_us += gap;
    ++r.intervals;
  }
  r.last_frame_us = now;
}

// A media packet's payload (after RTX unwrapping): frame and keyframe counting.
void on_video_payload(VideoReceiver& r, std::uint32_t ts, rtc::ByteSpan payload, std::int64_t now) {
  const std::int64_t t = r.stamps.unwrap(ts);
  if (t > r.last_frame) {
    r.last_frame = t;
    on_frame(r, now);
  }
  if (t > r.last_key && starts_keyframe(payload)) {
    r.last_key = t;
    ++r.keyframes;
  }
}

// Sequence bookkeeping (losses here, what to NACK in the NackGenerator); false for a
// duplicate.
bool on_sequence(VideoReceiver& r, std::uint16_t seq, std::int64_t now) {
  r.nack.on_packet(seq, now / 1000);
  const std::int64_t q = r.seqs.unwrap(seq);
  if (r.highest < 0 || q == r.highest + 1) {
    r.highest = q;
    return true;
  }
  if (q > r.highest) {
    if (q - r.highest > kMaxGap) {
      r.packets_lost += static_cast<std::uint64_t>(q - r.highest - 1);
    } else {
      for (std::int64_t m = r.highest + 1; m < q; ++m) r.missing[m] = now;
    }
    r.highest = q;
    return true;
  }
  return r.missing.erase(q) > 0;  // a late or retransmitted packet fills a gap
}

void watcher_tick(Bot& b, VideoReceiver& r, std::int64_t now) {
  std::array<std::uint16_t, kMaxNackPerPacket> lost{};
  std::size_t n = 0;
  while (!r.missing.empty() && now - r.missing.begin()->second > kGiveUpUs) {
    ++r.packets_lost;
    r.missing.erase(r.missing.begin());
  }
  if (r.media_ssrc != 0) n = r.nack.collect(now / 1000, lost);
  std::array<std::uint8_t, 1600> buf{};
  if (n > 0 && r.media_ssrc != 0) {
    rtc::ByteWriter w(buf);
    if (rtc::rtcp::write_nack(w, b.ssrc, r.media_ssrc, {lost.data(), n})) {
      send_rtcp(b, buf, w.size());
      ++r.nacks_sent;
      r.nacked_packets += n;
    }
  }
  if (r.pli_every_ms > 0 && r.media_ssrc != 0 && r.first_frame_us >= 0 && now >= r.next_pli_us) {
    r.next_pli_us = now + r.pli_every_ms * 1000;
    rtc::ByteWriter w(buf);
    if (rtc::rtcp::write_pli(w, b.ssrc, r.media_ssrc)) {
      send_rtcp(b, buf, w.size());
      ++r.plis_sent;
    }
  }
}

}  // namespace

bool load_clip(const std::string& path, VideoClip& clip, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  clip = VideoClip{};
  clip.path = path;
  clip.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  rtc::video::IvfReader r;
  if (auto s = rtc::video::IvfReader::open(clip.bytes, r); s != rtc::video::IvfStatus::kOk) {
    error = path + ": " + rtc::video::to_string(s);
    return false;
  }
  clip.header = r.header();
  if (clip.header.codec() != "VP80") {
    error = path + ": not VP8 (" + std::string(clip.header.codec()) + ")";
    return false;
  }
  std::vector<std::uint64_t> pts;
  rtc::video::IvfFrame f;
  rtc::video::IvfStatus s;
  while ((s = r.next(f)) == rtc::video::IvfStatus::kOk) {
    if (f.data.empty()) continue;
    clip.frames.push_back({f.data, 0, 0, is_keyframe(f.data)});
    clip.keyframes += clip.frames.back().key;
    pts.push_back(f.pts);
  }
  if (s != rtc::video::IvfStatus::kEnd) {
    error = path + ": " + rtc::video::to_string(s);
    return false;
  }
  if (clip.frames.empty() || !clip.frames.front().key) {
    error = path + ": no frames, or the first is not a keyframe";
    return false;
  }
  const std::size_t n = clip.frames.size();
  const std::uint64_t span = n > 1 ? pts.back() - pts.front() : 0;
  for (std::size_t i = 0; i < n; ++i) {
    // The last frame (and a clip of one) lasts the mean frame interval (or 1 pts unit).
    std::uint64_t d = i + 1 < n ? pts[i + 1] - pts[i] : (n > 1 ? span / (n - 1) : 1);
    if (d == 0 || d > (std::uint64_t{1} << 40)) d = 1;  // out-of-order or absurd pts
    clip.frames[i].duration_us = static_cast<std::int64_t>(clip.header.to_us(d));
    clip.frames[i].duration_90k = static_cast<std::uint32_t>(clip.header.to_90khz(d));
  }
  std::int64_t total = 0;
  for (auto& fr : clip.frames) total += fr.duration_us;
  clip.fps = total > 0 ? 1e6 * static_cast<double>(n) / static_cast<double>(total) : 0;
  return true;
}

bool prepare_video(Bots& bots, const Options& o) {
  auto clip = std::make_shared<VideoClip>();
  if (o.stream) {
    std::string error;
    if (!load_clip(o.video_clip, *clip, error)) {
      std::fprintf(stderr, "--video-clip: %s\n", error.c_str());
      return false;
    }
  }
  for (auto& b : bots) {
    if (o.stream && b->index == 0) {
      auto p = std::make_shared<VideoPublisher>();
      p->clip = clip;
      p->ssrc = b->ssrc;
      random_bytes(&p->rtx_ssrc, sizeof(p->rtx_ssrc));
      random_bytes(&p->seq, sizeof(p->seq));
      random_bytes(&p->rtx_seq, sizeof(p->rtx_seq));
      random_bytes(&p->ts_base, sizeof(p->ts_base));
      p->picture_id = static_cast<std::uint16_t>(random_u64() & 0x7FFF);
      p->drop_every = o.drop_every;
      if (o.pace > 0 && !clip->frames.empty()) {
        std::int64_t us = 0;
        std::uint64_t bytes = 0;
        for (auto& f : clip->frames) us += f.duration_us, bytes += f.data.size();
        if (us > 0)
          p->pace_bytes_per_us = o.pace * static_cast<double>(bytes) / static_cast<double>(us);
      }
      b->vpub = std::move(p);
    } else {
      auto r = std::make_shared<VideoReceiver>();
      r->target = o.watch;
      r->pli_every_ms = o.pli_every_ms;
      r->drop_every = o.watch_drop_every;
      b->vrx = std::move(r);
    }
  }
  return true;
}

namespace {

rtc::sdp::MediaSection video_section(Bot& b, const rtc::DtlsCertificate& cert, std::string mid,
                                     rtc::sdp::Direction dir) {
  rtc::sdp::MediaSection m;
  m.kind = "video";
  m.formats = {std::to_string(kPtVp8), std::to_string(kPtRtx)};
  m.mid = std::move(mid);
  m.direction = dir;
  m.rtcp_mux = true;
  m.rtcp_rsize = true;
  m.ice_ufrag = b.local.ufrag;
  m.ice_pwd = b.local.pwd;
  m.fingerprint = cert.sdp_fingerprint();
  m.setup = rtc::sdp::Setup::kActpass;
  m.codecs.push_back(
      {kPtVp8, "VP8", 90000, 0, "", {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}});
  m.codecs.push_back({kPtRtx, "rtx", 90000, 0, "apt=" + std::to_string(kPtVp8), {}});
  m.extmaps.push_back({kExtTwcc, "", std::string(rtc::ext_uri::kTransportCc), ""});
  m.extmaps.push_back({kExtMid, "", std::string(rtc::ext_uri::kMid), ""});
  return m;
}

std::string write_offer(std::vector<rtc::sdp::MediaSection> media) {
  rtc::sdp::SessionDescription sd;
  sd.session_id = random_u64() >> 2;
  sd.msid_semantic = "WMS *";
  rtc::sdp::Group bundle{"BUNDLE", {}};
  for (auto& m : media) bundle.mids.push_back(m.mid);
  sd.groups.push_back(std::move(bundle));
  sd.media = std::move(media);
  return rtc::sdp::write(sd);
}

}  // namespace

std::string publisher_offer_sdp(Bot& b, const rtc::DtlsCertificate& cert, bool recv_section) {
  VideoPublisher& p = *b.vpub;
  auto send = video_section(b, cert, "0", rtc::sdp::Direction::kSendOnly);
  const std::string cname = "bot" + std::to_string(b.index);
  send.msids.push_back("bot-screen bot-screen-video");
  send.ssrcs.push_back({p.ssrc, "cname", cname});
  send.ssrcs.push_back({p.rtx_ssrc, "cname", cname});
  send.ssrc_groups.push_back({"FID", {p.ssrc, p.rtx_ssrc}});
  std::vector<rtc::sdp::MediaSection> media;
  media.push_back(std::move(send));
  if (recv_section) media.push_back(video_section(b, cert, "1", rtc::sdp::Direction::kRecvOnly));
  return write_offer(std::move(media));
}

std::string watcher_offer_sdp(Bot& b, const rtc::DtlsCertificate& cert) {
  rtc::sdp::MediaSection a;
  a.kind = "audio";
  a.formats = {"111"};
  a.mid = "1";
  a.direction = rtc::sdp::Direction::kRecvOnly;
  a.rtcp_mux = true;
  a.ice_ufrag = b.local.ufrag;
  a.ice_pwd = b.local.pwd;
  a.fingerprint = cert.sdp_fingerprint();
  a.setup = rtc::sdp::Setup::kActpass;
  a.codecs.push_back({111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {"transport-cc"}});
  a.extmaps.push_back({kExtTwcc, "", std::string(rtc::ext_uri::kTransportCc), ""});
  a.extmaps.push_back({kExtMid, "", std::string(rtc::ext_uri::kMid), ""});
  return write_offer({video_section(b, cert, "0", rtc::sdp::Direction::kRecvOnly), std::move(a)});
}

void video_on_rtp(Bot& b, rtc::MutableByteSpan packet, std::int64_t now) {
  if (!b.vrx) return;  // a publisher receives no media
  VideoReceiver& r = *b.vrx;
  rtc::RtpPacket p;
  if (rtc::RtpPacket::parse(packet, p) != rtc::RtpParseStatus::kOk) return;
  if (p.payload_type() == r.pt_rtx) {
    ++r.rtx_received;
    std::size_t len = packet.size();
    if (!rtc::unwrap_rtx(packet, len, p, r.pt_media, r.media_ssrc)) return;  // padding only
    if (on_sequence(r, p.sequence_number(), now)) {
      ++r.packets;
      r.bytes += p.payload().size();
      on_video_payload(r, p.timestamp(), p.payload(), now);
    } else {
      ++r.duplicates;
    }
  } else if (p.payload_type() == r.pt_media) {
    r.media_ssrc = p.ssrc();
    if (r.drop_every > 0 && ++r.received_media % static_cast<std::uint64_t>(r.drop_every) == 0) {
      ++r.ignored;
      return;
    }
    if (!on_sequence(r, p.sequence_number(), now)) {
      ++r.duplicates;
      return;
    }
    ++r.packets;
    r.bytes += p.payload().size();
    if (auto t = rtp_read_stamp(p)) {
      const std::int64_t lat = now - static_cast<std::int64_t>(*t);
      if (now >= b.latency_from_us)
        r.latency_us.push_back(
            static_cast<std::int32_t>(std::clamp<std::int64_t>(lat, 0, INT32_MAX)));
      else
        r.warmup_latency_max_us = std::max(r.warmup_latency_max_us, lat);
    } else {
      ++r.unstamped;
    }
    on_video_payload(r, p.timestamp(), p.payload(), now);
  } else {
    ++r.audio_packets;
  }
}

void video_on_rtcp(Bot& b, rtc::MutableByteSpan packet, std::int64_t now) {
  if (!b.vpub) return;  // a watcher needs nothing from the SFU's reports
  VideoPublisher& p = *b.vpub;
  rtc::rtcp::RtcpReader rd(packet);
  rtc::rtcp::RtcpHeader h;
  while (rd.next(h)) {
    rtc::rtcp::FeedbackView fb;
    if ((h.type != rtc::rtcp::kPsfb && h.type != rtc::rtcp::kRtpfb) ||
        !rtc::rtcp::parse_feedback(h, fb))
      continue;
    if (h.type == rtc::rtcp::kPsfb &&
        (h.count == rtc::rtcp::kFmtPli || h.count == rtc::rtcp::kFmtFir)) {
      (h.count == rtc::rtcp::kFmtPli ? p.plis_received : p.firs_received)++;
      p.keyframe_requests_us.push_back(now);
      p.want_key = true;
    } else if (h.type == rtc::rtcp::kRtpfb && h.count == rtc::rtcp::kFmtNack &&
               fb.media_ssrc == p.ssrc) {
      ++p.nacks_received;
      rtc::rtcp::for_each_nack(fb, [&](std::uint16_t seq) {
        ++p.nacked_packets;
        send_rtx(b, p, seq);
      });
    }
  }
}

void video_tick(Bot& b, std::int64_t now, bool sending) {
  if (!b.link.srtp || !b.link.peer) return;
  if (b.vpub && b.vpub->clip && !b.vpub->clip->frames.empty()) {
    if (sending && b.vpub->stream_error.empty())
      publisher_tick(b, *b.vpub, now);
    else if (b.vpub->started_us >= 0 && b.vpub->stopped_us < 0)
      b.vpub->stopped_us = now;
  }
  if (b.vrx) watcher_tick(b, *b.vrx, now);
}

}  // namespace hype::bot
