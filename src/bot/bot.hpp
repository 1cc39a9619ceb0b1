// hype-bot's state of one bot: its UDP socket and media transport (ICE controlling agent,
// DTLS client, SRTP), its REST identity and /voice WebSocket, what it has learned from
// signaling (which stream carries which user), and what it counted (packets per stream and
// per publisher, latency samples, join times) for the report. The signaling flows
// (flows.hpp) fill it from one thread per bot, the media loop (media.hpp) from one thread
// for all bots, each under `mu`; the report (report.hpp) reads it once both have ended.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bot/opus_loop.hpp"
#include "bot/signaling_client.hpp"
#include "core/socket_address.hpp"
#include "net/udp_socket.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_agent.hpp"
#include "rtc/rtp/seq_unwrapper.hpp"
#include "rtc/srtp_session.hpp"

namespace hype::bot {

struct VideoPublisher;
struct VideoReceiver;

// Header extension ids the bot offers (a server offer's ids are answered as they come).
constexpr std::uint8_t kExtLevel = 1, kExtTwcc = 3, kExtMid = 4, kExtSendTime = 5;
constexpr const char* kSendTimeUri = "urn:hype:rtp-hdrext:send-time-us";

// Set by SIGINT/SIGTERM (main.cpp): setup, the media loop and --hold stop early, and the
// report still prints (with "signaled": true). The one global: a signal handler can reach
// nothing else.
inline std::atomic<bool> g_signaled{false};

inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Stream {
  rtc::SeqUnwrapper unwrap;
  std::int64_t first = 0, highest = 0;
  std::uint64_t received = 0;
  bool any = false;
  // For quality reports (quality.hpp): every packet, also those before the media window.
  rtc::SeqUnwrapper q_unwrap;
  std::int64_t q_first = 0, q_highest = 0;
  std::uint64_t q_received = 0, q_bytes = 0;
  bool q_any = false;
  double jitter_s = 0;  // RFC 3550 interarrival jitter
  std::int64_t last_arrival_us = 0;
  std::uint32_t last_ts = 0;
  bool q_transit = false;
  // What the last report covered up to.
  std::uint64_t rep_expected = 0, rep_received = 0, rep_bytes = 0;
};

// One media transport to one server (an SFU node, or a Janus PeerConnection): ICE, DTLS,
// SRTP and the address ICE selected. `ready` once connect_media set it up.
struct Link {
  rtc::ice::IceCredentials remote;
  std::unique_ptr<rtc::ice::IceAgent> ice;
  std::unique_ptr<rtc::DtlsSession> dtls;
  std::unique_ptr<rtc::SrtpSession> srtp;
  std::optional<SocketAddress> peer;
  bool ready = false, dtls_started = false;
};

struct Bot {
  int index = 0;
  bool speaker = false;
  std::mutex mu;
  net::UdpSocket sock;
  std::string user_id, token;
  RestClient* rest = nullptr;
  // The /voice connection. Replaced (under `mu`) when the bot moves to another SFU node; the
  // media thread copies the pointer under `mu` to send quality reports.
  std::shared_ptr<VoiceSocket> ws = std::make_shared<VoiceSocket>();
  rtc::ice::IceCredentials local;
  Link link;
  // Moving to another SFU node (its node drains, `server_update`), make before break: the old
  // link keeps carrying audio both ways until the new one has SRTP and `old_until_us` passed
  // (0: not yet connected); then the media thread drops it and aborts `old_ws`.
  std::unique_ptr<Link> old;
  std::shared_ptr<VoiceSocket> old_ws;
  std::int64_t old_until_us = 0;
  std::string node;               // hype: the SFU node the current link goes to
  int reconnects = 0, moves = 0;  // joins again after a lost node; moves after a drain
  std::string channel;            // hype: the voice channel this bot joins
  std::unordered_map<std::uint32_t, std::string> ssrc_user;  // per-publisher streams
  std::unordered_map<std::uint32_t, std::string> ssrc_mid;   // slot streams
  std::unordered_map<std::string, std::string> mid_user;     // from the latest slots event
  std::unordered_map<std::uint32_t, Stream> streams;
  std::map<std::string, std::uint64_t> from_user;  // packets by publisher at receipt
  std::map<std::string, std::int64_t> last_from_user;
  // Per publisher (its SSRC, from the Opus stamp): the last packet and the longest wait
  // between two of its packets within the window (a failover's or a drain's audio gap; with
  // --continuous speakers nothing else makes one).
  std::map<std::uint32_t, std::int64_t> last_from_sender, max_gap_from_sender;
  // Gaps longer than kGapEventUs: {start (the last packet before it), length}, so a test can
  // tell which event caused which gap.
  static constexpr std::int64_t kGapEventUs = 100'000;
  std::vector<std::pair<std::int64_t, std::int64_t>> gap_events;
  std::size_t audio_slots = 0;
  bool joined = false;  // holds a REST voice state
  std::atomic<bool> signaling_done{false};
  std::int64_t first_rx_us = -1;  // first remote audio packet (any, also before the window)
  std::uint32_t ssrc = 0;
  std::uint16_t seq = 0, twcc_seq = 0;
  std::uint32_t ts = 0;
  std::uint64_t sent = 0, sent_in_window = 0;
  std::int64_t join_start_us = 0, join_done_us = -1;
  std::vector<std::int64_t> latency_us;
  // Quality reports: the next one is due at next_report_us; one-way delays since the last.
  int audio_drop_every = 0;
  std::uint64_t frames_out = 0;
  std::int64_t next_report_us = 0, last_report_us = 0;
  std::vector<std::int64_t> report_delay_us;
  std::uint64_t reports_sent = 0;
  std::atomic<std::uint64_t> reports_refused{0};
  std::string error;
  // --target janus: a bot is a subscriber transport plus, for speakers, a publisher
  // transport (`pub`, marked pub_only) since Janus gives each its own PeerConnection.
  Bot* pub = nullptr;
  bool pub_only = false;
  const OpusLoop* opus = nullptr;  // shared by every bot in the same channel slot
  int group = 0;                   // --channels: which channel (index is the bot's place in it)
  std::int64_t next_frame_us = 0;
  // Opus frame length: 10 where the server's answer says a=ptime of 10 or less. Written under
  // `mu` by signaling (connect_media), read by the media thread's send schedule without it.
  std::atomic<int> frame_ms{20};
  int forced_frame_ms = 0;      // --ptime: this length whatever the answer says
  std::int64_t next_rr_us = 0;  // RTCP receiver report once a second, as a browser sends
  // --warmup: samples before latency_from_us (media start + warmup) are kept apart.
  std::int64_t latency_from_us = 0, warmup_max_us = 0;
  // Video (video.hpp): a bot on a stream connection publishes the clip or watches a stream.
  std::shared_ptr<VideoPublisher> vpub;
  std::shared_ptr<VideoReceiver> vrx;
  void add_latency(std::int64_t now, std::int64_t v) {
    if (now >= latency_from_us)
      latency_us.push_back(v);
    else
      warmup_max_us = std::max(warmup_max_us, v);
  }
};

using Bots = std::vector<std::unique_ptr<Bot>>;

}  // namespace hype::bot
