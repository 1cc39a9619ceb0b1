#include "sfu/transport.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>

#include "rtc/rtcp/rtcp_packets.hpp"
#include "rtc/rtp/extension_rewriter.hpp"
#include "rtc/rtp/rtx.hpp"

namespace hype::sfu {

Transport::Transport(SessionParams params, std::unique_ptr<rtc::DtlsSession> dtls, Room& room,
                     std::uint32_t rtcp_ssrc, DatagramSender& out, SfuCounters& counters,
                     TransportEvents& events)
    : params_(std::move(params)),
      ice_(params_.local, params_.remote),
      dtls_(std::move(dtls)),
      room_(room),
      participant_(room.add_participant(params_.participant)),
      out_(out),
      c_(counters),
      events_(events),
      rtcp_ssrc_(rtcp_ssrc) {
  if (params_.tracer && params_.trace) created_unix_ns_ = telemetry::unix_ns_now();
  participant_.ext = params_.ext;
  participant_.audio_payload_type = params_.audio_payload_type;
  participant_.audio_red_payload_type = params_.audio_red_payload_type;
  participant_.video_codecs = params_.video_codecs;
  participant_.endpoint = this;
  for (auto& t : params_.tracks) room_.publish(participant_.id, t);
  if (params_.ext.transport_cc != 0) {
    // Probes go out as RTX of recent video (Room::send_probe) once the room gives this
    // viewer an allocation cap (it watches a simulcast stream).
    bwe_ = std::make_unique<rtc::bwe::SendSideBwe>(rtc::bwe::BweOptions{});
  }
  dtls_->start();
}

bool Transport::update(std::vector<PublishedTrack> tracks, std::vector<ReceiveCodec> video_codecs) {
  participant_.video_codecs = video_codecs;
  params_.video_codecs = std::move(video_codecs);
  bool changed = false;
  // A track is the same by SSRC; a simulcast one (no SSRC in SDP) by its mid and rids.
  auto same = [](const PublishedTrack& a, const PublishedTrack& b) {
    return a.rids.empty() ? b.rids.empty() && a.ssrc == b.ssrc : a.mid == b.mid && a.rids == b.rids;
  };
  for (auto& old : params_.tracks) {
    bool kept = std::any_of(tracks.begin(), tracks.end(),
                            [&](const PublishedTrack& t) { return same(t, old); });
    if (!kept) {
      room_.unpublish(participant_.id, old);
      changed = true;
    }
  }
  for (auto& t : tracks) {
    bool had = std::any_of(params_.tracks.begin(), params_.tracks.end(),
                           [&](const PublishedTrack& o) { return same(o, t); });
    if (!had) changed |= room_.publish(participant_.id, t) != nullptr;
  }
  params_.tracks = std::move(tracks);
  return changed;
}

Transport::~Transport() {
  room_.remove_participant(params_.participant);
}

// ---- receiving ----

bool Transport::on_stun(const rtc::stun::StunMessage& msg, const SocketAddress& from,
                        std::int64_t now_us) {
  rtc::MutableByteSpan slot = out_.slot();
  auto o = ice_.handle_stun(msg, from, now_us / 1000, slot);
  if (o.response_size) out_.send(from, o.response_size);
  if (o.check != rtc::ice::RequestCheck::kValid) {
    bump(c_.dropped_auth);
    return false;
  }
  if (o.selected_changed || !remote_) remote_ = ice_.selected() ? ice_.selected() : from;
  return true;
}

void Transport::drain_dtls(const SocketAddress& to) {
  while (auto dg = dtls_->pop_datagram()) {
    rtc::MutableByteSpan slot = out_.slot();
    if (dg->size() > slot.size()) continue;
    std::copy(dg->begin(), dg->end(), slot.begin());
    out_.send(to, dg->size());
  }
}

// The join funnel's last stage: the first authenticated media packet (RTP, or RTCP from a
// participant that only listens) of a voice connection.
void Transport::note_media() {
  if (media_seen_) return;
  media_seen_ = true;
  if (!is_stream_participant(params_.participant)) bump(c_.funnel_first_packet);
  trace_stage("sfu.first_packet");
}

// Once per transport and stage, never per packet: Tracer::record is a short locked push.
void Transport::trace_stage(const char* name) {
  if (!params_.tracer || !params_.trace || !params_.tracer->enabled()) return;
  telemetry::Span s = telemetry::start_span(name, params_.trace);
  s.start_unix_ns = created_unix_ns_;
  s.attributes = {
      {"hype.connection", is_stream_participant(params_.participant) ? "stream" : "voice"},
      {"hype.room", std::to_string(params_.room)}};
  params_.tracer->record(std::move(s));
}

void Transport::disconnect() {
  if (disconnected_) return;
  disconnected_ = true;
  if (!is_stream_participant(params_.participant)) bump(c_.error_media_timeout);
  events_.on_disconnected(*this);
}

void Transport::on_dtls(rtc::ByteSpan d, const SocketAddress& from) {
  auto state = dtls_->handle_datagram(d);
  drain_dtls(from);
  if (state == rtc::DtlsState::kConnected && !srtp_ && dtls_->srtp_keys()) {
    auto srtp = rtc::SrtpSession::create(*dtls_->srtp_keys());
    if (!srtp) {
      spdlog::warn("sfu: participant {} SRTP setup failed: {}", params_.participant,
                   srtp.error().message);
      return;
    }
    srtp_ = std::move(srtp.value());
    spdlog::debug("sfu: participant {} SRTP {} ({})", params_.participant,
                  rtc::to_string(srtp_->profile()),
                  srtp_->uses_openssl_gcm() ? "openssl" : "libsrtp2");
    bump(c_.connected);
    if (!is_stream_participant(params_.participant)) bump(c_.funnel_ice_connected);
    trace_stage("sfu.ice_connected");
    events_.on_connected(*this);
  } else if (state == rtc::DtlsState::kFailed && !disconnected_) {
    spdlog::info("sfu: participant {} DTLS failed: {}", params_.participant, dtls_->error());
    disconnect();
  }
}

void Transport::on_rtp(rtc::MutableByteSpan buf, std::size_t len, std::int64_t now_us) {
  if (!srtp_) {
    bump(c_.dropped_unknown);
    return;
  }
  std::size_t n = len;
  if (srtp_->unprotect_rtp(buf, n) != rtc::SrtpStatus::kOk) {
    bump(c_.dropped_auth);
    return;
  }
  note_media();
  rtc::RtpPacket p;
  if (rtc::RtpPacket::parse(buf.first(n), p) != rtc::RtpParseStatus::kOk) {
    bump(c_.dropped_malformed);
    return;
  }
  // Extensions are located once here, not per subscriber.
  rtc::PacketExtensions ext;
  if (rtc::index_extensions(p, participant_.ext, ext) != rtc::ExtensionStatus::kOk) {
    bump(c_.dropped_malformed);
    return;
  }
  if (ext.transport_seq) record_twcc(*ext.transport_seq, p.ssrc(), now_us);
  // A simulcast layer's first packet names its rid: its SSRC becomes the layer's.
  if (!room_.track_by_ssrc(p.ssrc())) room_.bind_layer(participant_, p);
  // A retransmission (RFC 4588) becomes the packet it repairs before the room sees it.
  if (Track* t = room_.track_by_ssrc(p.ssrc());
      t && t->rtx_ssrc == p.ssrc() && t->owner == &participant_) {
    if (p.payload_type() != t->rtx_payload_type ||
        !rtc::unwrap_rtx(buf, n, p, t->payload_type, t->ssrc)) {
      bump(c_.dropped_rtx_padding);
      return;
    }
    bump(c_.rtx_received);
  }
  room_.on_rtp(participant_, p, ext, now_us);
}

void Transport::on_rtcp(rtc::MutableByteSpan buf, std::size_t len, std::int64_t now_us) {
  if (!srtp_) {
    bump(c_.dropped_unknown);
    return;
  }
  std::size_t n = len;
  if (srtp_->unprotect_rtcp(buf, n) != rtc::SrtpStatus::kOk) {
    bump(c_.dropped_auth);
    return;
  }
  note_media();
  rtc::rtcp::RtcpReader r(buf.first(n));
  rtc::rtcp::RtcpHeader h;
  std::int64_t now_ms = now_us / 1000;
  while (r.next(h)) {
    rtc::rtcp::FeedbackView fb;
    if (h.type == rtc::rtcp::kRtpfb && h.count == rtc::rtcp::kFmtNack) {
      if (!rtc::rtcp::parse_feedback(h, fb)) continue;
      std::array<std::uint16_t, 256> seqs{};
      std::size_t k = 0;
      rtc::rtcp::for_each_nack(fb, [&](std::uint16_t q) {
        if (k < seqs.size()) seqs[k++] = q;
      });
      room_.on_nack(params_.participant, fb.media_ssrc, std::span(seqs.data(), k), now_ms);
    } else if (h.type == rtc::rtcp::kPsfb &&
               (h.count == rtc::rtcp::kFmtPli || h.count == rtc::rtcp::kFmtFir)) {
      if (!rtc::rtcp::parse_feedback(h, fb)) continue;
      std::uint32_t media = fb.media_ssrc;
      if (h.count == rtc::rtcp::kFmtFir && rtc::rtcp::fir_entry_count(fb) > 0)
        media = rtc::rtcp::fir_entry(fb, 0).ssrc;
      room_.on_keyframe_request(params_.participant, media, now_ms);
    } else if (h.type == rtc::rtcp::kRtpfb && h.count == rtc::rtcp::kFmtTwcc) {
      if (rtc::rtcp::parse_feedback(h, fb)) {
        on_twcc_feedback(fb, now_us);
      } else {
        bump(c_.bwe_feedback_malformed);
      }
    }
    // SR/RR/SDES/BYE need no action.
  }
  if (r.status() != rtc::rtcp::RtcpParseStatus::kOk) bump(c_.dropped_malformed);
}

// Transport-wide CC feedback from this participant on what we sent it: its downlink's
// bandwidth estimate.
void Transport::on_twcc_feedback(const rtc::rtcp::FeedbackView& fb, std::int64_t now_us) {
  if (!bwe_) {
    bump(c_.bwe_feedback_ignored);
    return;
  }
  // Chromium reports at most a few hundred packets per feedback; the builder's limit is
  // plenty (a larger one is counted malformed). On the stack: nothing allocated per packet.
  std::array<rtc::rtcp::TwccPacketResult, rtc::rtcp::TwccBuilder::kMaxPackets> results;
  rtc::rtcp::TwccHeader th;
  if (!rtc::rtcp::parse_twcc(fb, th, results)) {
    bump(c_.bwe_feedback_malformed);
    return;
  }
  // Arrival times continuous across the 24-bit reference time's wrap (TwccReferenceUnwrapper).
  const std::int64_t ref = twcc_ref_.unwrap(th.reference_time);
  if (const std::int64_t shift = (ref - th.reference_time) * rtc::rtcp::kTwccReferenceTickUs;
      shift != 0) {
    for (std::size_t i = 0; i < th.status_count; ++i)
      if (results[i].received) results[i].arrival_us += shift;
  }
  if (bwe_->on_feedback(std::span(results.data(), th.status_count), now_us)) {
    bump(c_.bwe_feedback_used);
  } else {
    bump(c_.bwe_feedback_ignored);
  }
  account_probes();
}

std::uint64_t Transport::downlink_estimate_bps() const {
  return bwe_ && bwe_->has_feedback() ? bwe_->target_bps() : 0;
}

void Transport::set_allocation_cap(std::uint64_t bps) {
  if (!bwe_) return;
  probe_capped_ = bps == 0;
  bwe_->set_allocation_cap(bps == 0 ? 1 : bps);
}

// Probe clusters that came to an end since the last call: counted by what they measured,
// and at debug the estimate a result gave or why there was none.
void Transport::account_probes() {
  const std::uint64_t measured = bwe_->stats().probe_results;
  if (measured != probes_seen_.measured) {
    bump(c_.bwe_probe_measured, measured - probes_seen_.measured);
    spdlog::debug("sfu: participant {} probe result: estimate {} bps (acked {} bps)",
                  params_.participant, bwe_->target_bps(), bwe_->acked_bps());
    probes_seen_.measured = measured;
  }
  const rtc::bwe::ProbeFailures& f = bwe_->probe_failures();
  rtc::bwe::ProbeFailures& seen = probes_seen_.failed;
  const auto failed = [&](std::uint64_t now, std::uint64_t& was, std::atomic<std::uint64_t>& c,
                          const char* why) {
    if (now == was) return;
    bump(c, now - was);
    spdlog::debug("sfu: participant {} probe no result: {}", params_.participant, why);
    was = now;
  };
  failed(f.too_few_received, seen.too_few_received, c_.bwe_probe_too_few,
         "too few packets received");
  failed(f.no_span, seen.no_span, c_.bwe_probe_no_span, "sent or received at one instant");
  failed(f.compressed, seen.compressed, c_.bwe_probe_compressed, "received far faster than sent");
  failed(f.unfinished, seen.unfinished, c_.bwe_probe_unfinished, "not every packet reported");
}

void Transport::run_probe(std::int64_t now_us) {
  if (probe_chunks_left_ == 0) {
    if (probe_capped_) return;
    auto p = bwe_->next_probe(now_us);
    if (!p) return;
    // The request's rate, one tick's worth per chunk. Several ticks, not one burst: a
    // bottleneck with a token bucket lets its burst through at line rate, and a probe not
    // much bigger than that measures the bucket, not the link (seen in the netns lab: a
    // 0.8 Mbit/s link probed at 1.2 Mbit/s with 4 KB).
    probe_cluster_ = p->cluster_id;
    probe_target_bps_ = p->target_bps;
    probe_chunks_left_ = kProbeChunks;
    probe_chunk_bytes_ = static_cast<std::size_t>(p->target_bps * kProbeTickUs / 8'000'000 + 1);
    probe_chunk_packets_ = (p->min_packets + kProbeChunks - 1) / kProbeChunks + 1;
    spdlog::debug("sfu: participant {} probe {} at {} bps ({} bytes per chunk), estimate {} bps",
                  params_.participant, probe_cluster_, p->target_bps, probe_chunk_bytes_,
                  bwe_->target_bps());
  }
  sending_cluster_ = probe_cluster_;
  std::size_t sent =
      room_.send_probe(participant_.id, probe_chunk_bytes_, probe_chunk_packets_, now_us / 1000);
  sending_cluster_ = -1;
  probe_chunks_left_ = sent == 0 ? 0 : probe_chunks_left_ - 1;
  if (sent != 0) bump(c_.bwe_probe_bytes, sent);
  if (probe_chunks_left_ == 0) {
    // The cluster is out whole: it may complete now, and the one it overwrote is counted.
    bwe_->on_probe_sent(probe_cluster_, probe_target_bps_, now_us);
    account_probes();
  }
}

// ---- sending ----

void Transport::send_rtp(const Subscription& sub, const rtc::RtpPacket& src,
                         const rtc::PacketExtensions& ext, std::uint16_t seq, std::uint32_t ts) {
  // The subscriber's own extension ids and mid; the SFU numbers its transport-wide sequence.
  rtc::ForwardHeader h{
      sub.rewriter.out_ssrc(),       seq,          ts, forwarded_payload_type(sub, src), sub.mid,
      params_.ext.transport_cc != 0, twcc_out_seq_};
  forward(sub, src, ext, h);
}

void Transport::send_rtx(const Subscription& sub, const rtc::RtpPacket& src,
                         const rtc::PacketExtensions& ext, std::uint16_t osn, std::uint32_t ts) {
  if (!sub.rtx_ssrc) return send_rtp(sub, src, ext, osn, ts);
  rtc::ForwardHeader h{sub.rtx_ssrc, sub.rtx_seq++,
                       ts,           sub.out_rtx_payload_type,
                       sub.mid,      params_.ext.transport_cc != 0,
                       twcc_out_seq_};
  h.rtx_osn = osn;
  forward(sub, src, ext, h);
}

void Transport::forward(const Subscription& sub, const rtc::RtpPacket& src,
                        const rtc::PacketExtensions& ext, const rtc::ForwardHeader& h) {
  if (!srtp_ || !remote_) return;
  rtc::MutableByteSpan slot = out_.slot();
  std::size_t n = rtc::write_forwarded(src, ext, params_.ext, h,
                                       slot.first(slot.size() - rtc::kSrtpMaxOverhead));
  if (n == 0) {
    bump(c_.dropped_send);
    return;
  }
  if (sub.out_picture_id >= 0 || sub.out_tl0_pic_idx >= 0) patch_vp8(sub, slot.first(n), h);
  if (h.write_transport_seq) ++twcc_out_seq_;
  std::size_t plain = n;
  if (srtp_->protect_rtp(slot, n) != rtc::SrtpStatus::kOk) {
    bump(c_.dropped_send);
    return;
  }
  out_.send(*remote_, n);
  if (h.write_transport_seq && bwe_)
    bwe_->on_packet_sent(h.transport_seq, n, out_.send_time_us(), sending_cluster_);
  bump(c_.forwarded_packets);
  bump(c_.forwarded_bytes, plain);
}

// The room's picture id and TL0PICIDX for this copy (simulcast: continuous across layers),
// written into the VP8 descriptor of the copy; after the OSN when it goes out as RTX.
void Transport::patch_vp8(const Subscription& sub, rtc::MutableByteSpan packet,
                          const rtc::ForwardHeader& h) {
  rtc::RtpPacket out;
  if (rtc::RtpPacket::parse(packet, out) != rtc::RtpParseStatus::kOk) return;
  rtc::MutableByteSpan payload = out.payload();
  if (h.rtx_osn) {
    if (payload.size() < 2) return;
    payload = payload.subspan(2);
  }
  if (sub.out_picture_id >= 0) rtc::video::write_vp8_picture_id(payload, sub.out_picture_id);
  if (sub.out_tl0_pic_idx >= 0) rtc::video::write_vp8_tl0_pic_idx(payload, sub.out_tl0_pic_idx);
}

void Transport::request_keyframe(std::uint32_t ssrc) {
  rtc::MutableByteSpan slot = out_.slot();
  rtc::ByteWriter w(slot.first(slot.size() - rtc::kSrtpMaxOverhead));
  if (rtc::rtcp::write_pli(w, rtcp_ssrc_, ssrc)) send_rtcp(slot, w.size());
}

// Protects an RTCP packet written into a slot and sends it to the selected path.
void Transport::send_rtcp(rtc::MutableByteSpan slot, std::size_t n) {
  if (!srtp_ || !remote_) return;
  if (srtp_->protect_rtcp(slot, n) != rtc::SrtpStatus::kOk) {
    bump(c_.dropped_send);
    return;
  }
  out_.send(*remote_, n);
}

void Transport::record_twcc(std::uint16_t seq, std::uint32_t media_ssrc, std::int64_t now_us) {
  if (twcc_.empty()) twcc_.reset(rtcp_ssrc_, media_ssrc, twcc_fb_count_, twcc_next_seq_);
  // kLate: reported as lost already (an earlier feedback went out without it), or a
  // duplicate; starting a feedback at it would report the packets after it as lost as well.
  if (twcc_.add_received(seq, now_us) != rtc::rtcp::TwccAdd::kFull) return;
  send_twcc();
  twcc_.reset(rtcp_ssrc_, media_ssrc, twcc_fb_count_, twcc_next_seq_);
  if (twcc_.add_received(seq, now_us) == rtc::rtcp::TwccAdd::kAdded) return;
  // Too far from where the last feedback ended (the sender restarted its numbers, or a long
  // pause): start over at this packet.
  twcc_.reset(rtcp_ssrc_, media_ssrc, twcc_fb_count_);
  twcc_.add_received(seq, now_us);
}

void Transport::send_twcc() {
  if (twcc_.empty()) return;
  rtc::MutableByteSpan slot = out_.slot();
  rtc::ByteWriter w(slot.first(slot.size() - rtc::kSrtpMaxOverhead));
  if (twcc_.write(w)) send_rtcp(slot, w.size());
  ++twcc_fb_count_;
  // The next feedback starts right after this one: packets lost in between are reported.
  twcc_next_seq_ = twcc_.end_seq();
  twcc_.reset(rtcp_ssrc_, 0, twcc_fb_count_, twcc_next_seq_);
}

void Transport::send_reports() {
  if (participant_.tracks.empty()) return;
  std::array<rtc::rtcp::ReportBlock, 8> blocks{};
  std::size_t n = 0;
  for_each_stream(participant_, [&](Track& t) {
    if (n == blocks.size() || t.stats.received() == 0) return;
    blocks[n++] = t.stats.make_report(t.ssrc);
  });
  if (n == 0) return;
  rtc::MutableByteSpan slot = out_.slot();
  rtc::ByteWriter w(slot.first(slot.size() - rtc::kSrtpMaxOverhead));
  if (rtc::rtcp::write_receiver_report(w, rtcp_ssrc_, std::span(blocks.data(), n)))
    send_rtcp(slot, w.size());
}

// ---- timers ----

void Transport::on_tick(std::int64_t now_us) {
  std::int64_t now_ms = now_us / 1000;
  if (dtls_->timeout_ms() == 0 && remote_) {
    dtls_->handle_timeout();
    drain_dtls(*remote_);
  }
  std::int64_t it = ice_.next_timeout_ms();
  if (it >= 0 && it <= now_ms && ice_.handle_timeout(now_ms) &&
      ice_.state() == rtc::ice::IceState::kDisconnected && !disconnected_)
    disconnect();
  if (!srtp_) return;
  if (now_us >= next_twcc_us_) {
    send_twcc();
    next_twcc_us_ = now_us + kTwccIntervalUs;
  }
  if (now_us >= next_report_us_) {
    send_reports();
    next_report_us_ = now_us + kReportIntervalUs;
  }
  if (now_us >= next_nack_us_) {
    send_nacks(now_ms);
    next_nack_us_ = now_us + kNackIntervalUs;
  }
  if (bwe_ && remote_) run_probe(now_us);
}

// The SFU asks its publishers itself for what it lost (RFC 4585 generic NACK): watchers
// are answered from the cache, so one loss on the publisher's link is repaired once.
void Transport::send_nacks(std::int64_t now_ms) {
  std::array<std::uint16_t, 64> seqs{};
  for_each_stream(participant_, [&](Track& t) {
    if (!t.nacked || t.ssrc == 0) return;
    std::size_t k = t.nack.collect(now_ms, seqs);
    if (k == 0) return;
    rtc::MutableByteSpan slot = out_.slot();
    rtc::ByteWriter w(slot.first(slot.size() - rtc::kSrtpMaxOverhead));
    if (rtc::rtcp::write_nack(w, rtcp_ssrc_, t.ssrc, std::span(seqs.data(), k))) {
      send_rtcp(slot, w.size());
      bump(c_.nacks_sent, k);
    }
  });
}

void Transport::restart_ice(rtc::ice::IceCredentials local, rtc::ice::IceCredentials remote) {
  ice_.restart(local, remote);
  params_.local = std::move(local);
  params_.remote = std::move(remote);
  disconnected_ = false;
}

}  // namespace hype::sfu
