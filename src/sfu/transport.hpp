// One participant's WebRTC transport on the SFU: ICE-lite, the DTLS server handshake, SRTP,
// the receive side's RTCP (transport-wide CC feedback, receiver reports) and the send path
// (the subscriber's header written, protected, queued). It is the participant's Endpoint in
// its Room: the room hands it packets to send and keyframe requests to make, and it hands the
// room the decrypted RTP and the feedback (NACK, PLI/FIR) it receives. It owns no socket:
// datagrams come in from the worker, which found it by ICE ufrag or source address, and go
// out through a DatagramSender (the worker's sendmmsg batch; a capture in unit tests). It
// never throws or logs per packet; every drop is counted in the SfuCounters it is given.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/socket_address.hpp"
#include "rtc/bwe/send_side_bwe.hpp"
#include "rtc/dtls_session.hpp"
#include "rtc/ice/ice_common.hpp"
#include "rtc/ice/ice_lite_agent.hpp"
#include "rtc/rtcp/twcc.hpp"
#include "rtc/rtp/header_extensions.hpp"
#include "rtc/srtp_session.hpp"
#include "rtc/stun/stun_message.hpp"
#include "sfu/counters.hpp"
#include "sfu/endpoint.hpp"
#include "sfu/room.hpp"
#include "telemetry/trace.hpp"

namespace hype::sfu {

// Everything needed to run one participant's transport (from signaling, after SDP).
struct SessionParams {
  std::uint64_t room = 0;
  ParticipantId participant = 0;
  rtc::ice::IceCredentials local;
  rtc::ice::IceCredentials remote;
  std::string remote_fingerprint;  // "sha-256 AB:..."
  // Negotiated extension ids of its transport (from its answered audio m-sections): read
  // from its packets and written into the packets forwarded to it.
  rtc::ExtensionIds ext;
  std::uint8_t audio_payload_type = 111;    // the Opus payload type of its answered m-section
  std::uint8_t audio_red_payload_type = 0;  // its answered RED over that Opus, 0 when none
  std::vector<ReceiveCodec> video_codecs;   // what its answered video section accepts
  std::vector<PublishedTrack> tracks;
  // The join's trace (the /voice identify span): the transport records sfu.ice_connected and
  // sfu.first_packet as its children. No tracer or no trace: no spans.
  std::optional<telemetry::TraceContext> trace;
  telemetry::Tracer* tracer = nullptr;
};

// Where a transport's datagrams go. slot() is room for the next one (at least MTU plus SRTP
// overhead); send() queues its first n bytes. A slot not sent is simply reused.
// send_time_us() is the monotonic time the datagrams queued now count as sent at (the
// worker's time of the batch being handled): the bandwidth estimator's send times.
class DatagramSender {
 public:
  virtual ~DatagramSender() = default;
  virtual rtc::MutableByteSpan slot() = 0;
  virtual void send(const SocketAddress& to, std::size_t n) = 0;
  virtual std::int64_t send_time_us() const = 0;
};

class Transport;

// State changes the owner reports to signaling (on the worker thread).
class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  virtual void on_connected(Transport& t) = 0;     // DTLS-SRTP up
  virtual void on_disconnected(Transport& t) = 0;  // ICE consent lost or DTLS failed (once)
};

class Transport final : public Endpoint {
 public:
  static constexpr std::int64_t kTwccIntervalUs = 100'000;
  static constexpr std::int64_t kReportIntervalUs = 1'000'000;
  static constexpr std::int64_t kNackIntervalUs = 20'000;

  // Joins `room` as participant params.participant (publishing params.tracks) and becomes its
  // endpoint. `dtls` is a server session expecting params.remote_fingerprint; `rtcp_ssrc` the
  // sender SSRC of its RTCP (unique in the room).
  Transport(SessionParams params, std::unique_ptr<rtc::DtlsSession> dtls, Room& room,
            std::uint32_t rtcp_ssrc, DatagramSender& out, SfuCounters& counters,
            TransportEvents& events);
  // Leaves the room.
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // ---- datagrams in (the worker classified them) ----
  // A parsed STUN request for this transport's ufrag; answers it. True when the check was
  // valid: `from` is a path of this transport from now on.
  bool on_stun(const rtc::stun::StunMessage& msg, const SocketAddress& from, std::int64_t now_us);
  void on_dtls(rtc::ByteSpan datagram, const SocketAddress& from);
  // SRTP/SRTCP, decrypted in place: `buf` is the whole receive slot (len bytes used).
  void on_rtp(rtc::MutableByteSpan buf, std::size_t len, std::int64_t now_us);
  void on_rtcp(rtc::MutableByteSpan buf, std::size_t len, std::int64_t now_us);

  // Timers: DTLS retransmission, ICE consent, TWCC feedback and receiver reports.
  void on_tick(std::int64_t now_us);
  void restart_ice(rtc::ice::IceCredentials local, rtc::ice::IceCredentials remote);
  // A renegotiation: publishes what is new in `tracks`, unpublishes what is gone (by SSRC),
  // takes the new receive codecs. Returns whether the set of published tracks changed.
  bool update(std::vector<PublishedTrack> tracks, std::vector<ReceiveCodec> video_codecs);

  // ---- Endpoint ----
  void send_rtp(const Subscription& sub, const rtc::RtpPacket& source,
                const rtc::PacketExtensions& ext, std::uint16_t seq, std::uint32_t ts) override;
  void send_rtx(const Subscription& sub, const rtc::RtpPacket& source,
                const rtc::PacketExtensions& ext, std::uint16_t osn, std::uint32_t ts) override;
  void request_keyframe(std::uint32_t ssrc) override;
  std::uint64_t downlink_estimate_bps() const override;
  void set_allocation_cap(std::uint64_t bps) override;

  const SessionParams& params() const { return params_; }
  Room& room() { return room_; }
  Participant& participant() { return participant_; }
  bool connected() const { return srtp_ != nullptr; }
  const std::optional<SocketAddress>& remote() const { return remote_; }
  // Its downlink's estimator; nullptr when it did not negotiate transport-cc.
  const rtc::bwe::SendSideBwe* bwe() const { return bwe_.get(); }

 private:
  void drain_dtls(const SocketAddress& to);
  void disconnect();
  void trace_stage(const char* name);  // a span from creation to now, child of params_.trace
  void note_media();
  void send_rtcp(rtc::MutableByteSpan slot, std::size_t n);
  void record_twcc(std::uint16_t seq, std::uint32_t media_ssrc, std::int64_t now_us);
  void send_twcc();
  void send_reports();
  void send_nacks(std::int64_t now_ms);
  void on_twcc_feedback(const rtc::rtcp::FeedbackView& fb, std::int64_t now_us);
  void forward(const Subscription& sub, const rtc::RtpPacket& src, const rtc::PacketExtensions& ext,
               const rtc::ForwardHeader& h);
  // Sends the probe the estimator asks for, in kProbeChunks chunks one tick apart, and tells
  // it when the last chunk is out (its result is at most the probe's target).
  void run_probe(std::int64_t now_us);
  // Counts (and logs at debug) the probe clusters that ended since the last call.
  void account_probes();
  static void patch_vp8(const Subscription& sub, rtc::MutableByteSpan packet,
                        const rtc::ForwardHeader& h);

  SessionParams params_;
  rtc::ice::IceLiteAgent ice_;
  std::unique_ptr<rtc::DtlsSession> dtls_;
  std::unique_ptr<rtc::SrtpSession> srtp_;
  Room& room_;
  Participant& participant_;
  DatagramSender& out_;
  SfuCounters& c_;
  TransportEvents& events_;
  std::optional<SocketAddress> remote_;
  std::uint32_t rtcp_ssrc_;
  std::uint16_t twcc_out_seq_ = 1;              // transport-wide sequence of what it sends
  rtc::rtcp::TwccBuilder twcc_;                 // feedback on what it receives
  std::optional<std::uint16_t> twcc_next_seq_;  // where the next feedback starts
  rtc::rtcp::TwccReferenceUnwrapper twcc_ref_;  // the feedback the subscriber sends
  std::uint8_t twcc_fb_count_ = 0;
  // Send-side bandwidth estimate of its downlink from the feedback it sends on what we
  // stamped with twcc_out_seq_ (only with transport-cc negotiated). Behind a pointer: the
  // send history is a ~200 KB ring.
  std::unique_ptr<rtc::bwe::SendSideBwe> bwe_;
  static constexpr int kProbeChunks = 4;
  static constexpr std::int64_t kProbeTickUs = 20'000;  // the worker's tick
  int probe_cluster_ = -1;                              // the probe being sent
  std::uint64_t probe_target_bps_ = 0;                  // ... and its rate
  int probe_chunks_left_ = 0;
  std::size_t probe_chunk_bytes_ = 0;
  int probe_chunk_packets_ = 0;
  int sending_cluster_ = -1;  // what forward() tags packets with (-1: not a probe)
  bool probe_capped_ = true;  // allocation cap 0: nothing to adapt, no probing
  struct {
    std::uint64_t measured = 0;
    rtc::bwe::ProbeFailures failed;
  } probes_seen_;  // what account_probes() counted so far
  std::int64_t next_twcc_us_ = 0;
  std::int64_t next_report_us_ = 0;
  std::int64_t next_nack_us_ = 0;
  bool disconnected_ = false;
  bool media_seen_ = false;
  std::int64_t created_unix_ns_ = 0;  // start of its join-stage spans
};

}  // namespace hype::sfu
