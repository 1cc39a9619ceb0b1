// hype-bot's screen-share (video) side. A publisher streams a pre-encoded VP8 clip (IVF, see
// bench/video/make_clip.sh) as a live screen share; watchers receive a stream and count what a
// viewer would see. Both run on stream connections (docs/protocol.md, "Stream connections"):
// REST voice join, (publisher) POST /voice/stream, identify kind "stream", offer/answer;
// watchers send `watch` once their transport is up and the stream is live.
//
// The publisher cannot encode. It paces the clip's frames in real time at the clip's frame
// rate, with 90 kHz RTP timestamps and a 15-bit picture id that run on across loops, and:
//   - answers a PLI or FIR by jumping to the clip's next keyframe: the next frame slot sends
//     that keyframe (the frames in between are skipped; timestamps keep their pace), so a
//     viewer gets a keyframe within one frame interval, as from a real encoder;
//   - answers NACKs with RTX (RFC 4588, its own SSRC, a=ssrc-group:FID) from a history of its
//     last kSendHistory packets;
//   - with --drop-every N, does not send every Nth new packet (it stays in the history, so a
//     NACK recovers it): the SFU's own NACKs towards publishers become visible;
//   - with --pace M, queues each frame's packets and sends them at M x the clip's mean
//     bitrate (a budget refilled on every tick, at most 5 ms of it at once), as a browser's
//     pacer does (M = 2.5 there); without it a frame's packets go out back to back.
// (--watch-drop-every N is the same on a watcher: it ignores every Nth media packet it
// receives, so its NACKs and the SFU's RTX towards viewers become visible.)
// A watcher counts per stream: frames (distinct RTP timestamps), keyframes, bytes, packets,
// losses (a gap not filled by a retransmission within 1 s), NACKs it sends for gaps
// (rtc::NackGenerator decides what and when, as in the SFU), RTX it
// receives, freezes (a gap between frames over max(3 x mean frame interval, mean + 150 ms),
// the WebRTC definition) and the time from `watch` to the first frame. With --pli-every-ms it
// also sends a PLI on that period (the SFU must coalesce them towards the publisher).
// Latency: every original media packet the publisher sends carries its send time in the RTP
// padding (rtp_stamp.hpp); a watcher takes the kernel's arrival time minus that stamp for each
// media packet (not RTX, not duplicates), the first --warmup seconds apart.
// With --target janus the same publisher and watchers go through Janus's videoroom
// (flows.hpp): the publisher publishes the clip as a VP8 feed, each watcher subscribes to it
// on its own handle and PeerConnection, in the payload types Janus offers.
// State lives in the Bot (bot.hpp) under its mutex; the media thread (media.cpp) calls in.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rtc/bytes.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/rtcp/nack_generator.hpp"
#include "rtc/rtp/seq_unwrapper.hpp"
#include "rtc/video/ivf_reader.hpp"

namespace hype::bot {

struct Bot;
struct Options;

// Payload types the bot offers (a watcher gets the stream in its own types).
constexpr std::uint8_t kPtVp8 = 96, kPtRtx = 97;
constexpr std::size_t kVideoMaxPayload = 1200;  // RTP payload, VP8 descriptor included
constexpr std::size_t kSendHistory = 1024;

// A clip loaded once, read-only (frames point into `bytes`).
struct VideoClip {
  std::string path;
  std::vector<std::uint8_t> bytes;
  rtc::video::IvfHeader header;
  struct Frame {
    rtc::ByteSpan data;
    std::int64_t duration_us = 0;  // until the next frame (the last: the mean)
    std::uint32_t duration_90k = 0;
    bool key = false;
  };
  std::vector<Frame> frames;
  std::size_t keyframes = 0;
  double fps = 0;
};

// Reads and indexes an IVF VP8 clip. False with `error` set when it cannot be used.
bool load_clip(const std::string& path, VideoClip& clip, std::string& error);

struct VideoPublisher {
  std::shared_ptr<const VideoClip> clip;
  std::uint32_t ssrc = 0, rtx_ssrc = 0;
  std::uint16_t seq = 0, rtx_seq = 0, picture_id = 0;
  std::uint32_t ts_base = 0;
  int drop_every = 0;
  // --pace: packets (sequence numbers, in the history) waiting for the pacer, its rate and
  // its budget.
  double pace_bytes_per_us = 0, pace_budget = 0;
  std::int64_t pace_last_us = -1;
  std::deque<std::uint16_t> paced;
  std::uint64_t pace_queue_max = 0;
  // Pacing: the next frame index, when it is due, and its RTP time (from ts_base).
  std::size_t next_frame = 0;
  std::int64_t next_us = 0;
  std::uint64_t next_90k = 0;
  bool want_key = false;  // a PLI/FIR arrived: the next slot sends a keyframe
  std::int64_t started_us = -1, stopped_us = -1;
  struct Sent {
    std::uint16_t seq = 0;
    bool valid = false, marker = false;
    std::uint32_t ts = 0;
    std::uint16_t size = 0;
    std::array<std::uint8_t, kVideoMaxPayload> payload{};
  };
  std::vector<Sent> history = std::vector<Sent>(kSendHistory);
  std::vector<std::int64_t> keyframe_requests_us;  // PLI/FIR arrival times
  std::uint64_t frames_sent = 0, keyframes_sent = 0, packets_sent = 0, bytes_sent = 0,
                packets_dropped = 0, plis_received = 0, firs_received = 0, nacks_received = 0,
                nacked_packets = 0, rtx_sent = 0, rtx_unavailable = 0, keyframe_jumps = 0,
                loops = 0;
  std::string stream_error;  // stream_denied / stream_ended from the SFU
};

struct VideoReceiver {
  std::string target;    // --watch: a user id or "any"
  std::string watching;  // the user id it sent `watch` for
  std::int64_t watch_sent_us = -1, first_frame_us = -1;
  int pli_every_ms = 0;
  std::int64_t next_pli_us = 0;
  int drop_every = 0;  // --watch-drop-every: every Nth media packet is ignored (simulated loss)
  std::uint64_t received_media = 0, ignored = 0;
  std::uint32_t media_ssrc = 0;  // the SFU's SSRC of the watched video towards this bot
  // Payload types of the watched video towards this bot: hype answers in the bot's own;
  // Janus offers its own (set from its offer).
  std::uint8_t pt_media = kPtVp8, pt_rtx = kPtRtx;
  // Arrival minus send stamp (us) of each media packet from the bot's latency_from_us on;
  // before it, only the maximum.
  std::vector<std::int32_t> latency_us;
  std::int64_t warmup_latency_max_us = 0;
  std::uint64_t unstamped = 0;  // media packets without a stamp (an SFU dropped the padding)
  rtc::SeqUnwrapper seqs;
  rtc::TimestampUnwrapper stamps;
  std::int64_t highest = -1;     // highest unwrapped sequence number seen
  std::int64_t last_frame = -1;  // unwrapped RTP timestamp of the newest frame
  std::int64_t last_key = -1;    // of the newest keyframe counted
  std::int64_t last_frame_us = -1;
  std::int64_t interval_sum_us = 0;
  std::uint64_t intervals = 0;
  std::map<std::int64_t, std::int64_t> missing;  // gap (sequence) -> when seen, until filled
  rtc::NackGenerator nack;                       // what to NACK and when
  std::uint64_t frames = 0, keyframes = 0, bytes = 0, packets = 0, packets_lost = 0, nacks_sent = 0,
                nacked_packets = 0, rtx_received = 0, plis_sent = 0, freezes = 0, duplicates = 0,
                audio_packets = 0;
  std::int64_t freeze_us = 0;
  std::vector<std::string> errors;  // non-fatal signaling errors (not_streaming, ...)
};

// --stream/--watch: loads the clip and makes bot 0 the publisher (with --stream) and the
// others watchers. False (with a line on stderr) when the clip cannot be used.
bool prepare_video(std::vector<std::unique_ptr<Bot>>& bots, const Options& o);

// SDP offers of stream connections: the publisher's sendonly VP8+RTX section (mid 0) and a
// recvonly video section (mid 1); a watcher's recvonly video (mid 0) and audio (mid 1).
// recv_section false: the send section alone (Janus's publisher PeerConnection only sends).
std::string publisher_offer_sdp(Bot& b, const rtc::DtlsCertificate& cert, bool recv_section = true);
std::string watcher_offer_sdp(Bot& b, const rtc::DtlsCertificate& cert);

// Media thread hooks, called with b.mu held on a bot that has vpub or vrx.
void video_on_rtp(Bot& b, rtc::MutableByteSpan packet, std::int64_t now);
void video_on_rtcp(Bot& b, rtc::MutableByteSpan packet, std::int64_t now);
// Sends what is due: the publisher's next frame (when `sending`), a watcher's NACKs and PLIs.
void video_tick(Bot& b, std::int64_t now, bool sending);

// The stream connection's signaling for a publisher or watcher (one thread per bot).
void run_stream_signaling(Bot& b, const std::shared_ptr<rtc::DtlsContext>& ctx,
                          std::atomic<bool>& stop, double connect_timeout);

}  // namespace hype::bot
