// The SFU's node-level counters, declared once in HYPE_SFU_COUNTERS together with how
// /metrics shows them. Each worker owns one SfuCounters block; its transports and rooms write
// into it directly on the worker thread (relaxed stores, no read-modify-write: one writer per
// block), and /metrics reads it from another thread through SfuService::stats(), which sums
// the blocks into SfuCounterValues. Adding a counter is one row here: it gets a field in both
// structs, a place in that sum and a row in kSfuMetrics, from which sfu_metrics.cpp registers
// it (no second list of names to keep in step).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "telemetry/voice_errors.hpp"

namespace hype::sfu {

// X(field, kind, Prometheus name, label, HELP)
//   kind: gauge, counter, or worker_ns (a per-worker nanosecond total, shown in seconds with a
//   `worker` label). label: "" or "key=value"; rows that share a name form one family, so they
//   must agree on the kind, the label key and the HELP (sfu_metrics_test checks it).
#define HYPE_SFU_COUNTERS(X)                                                                       \
  X(connections, gauge, "sfu_node_connections", "", kConnectionsHelp)                              \
  X(connected, gauge, "sfu_connected_transports", "",                                              \
    "participant transports with DTLS-SRTP up on this SFU node")                                   \
  X(rooms, gauge, "sfu_active_voice_channels", "", "voice channels with a room on this node")      \
  X(participants, gauge, "sfu_active_voice_users", "", "participants in rooms on this node")       \
  X(rx_packets, counter, "sfu_received_packets_total", "", "UDP datagrams received")               \
  X(rx_bytes, counter, "sfu_received_bytes_total", "", "UDP payload bytes received")               \
  X(tx_packets, counter, "sfu_sent_packets_total", "", "UDP datagrams sent")                       \
  X(tx_bytes, counter, "sfu_sent_bytes_total", "", "UDP payload bytes sent")                       \
  X(forwarded_packets, counter, "sfu_forwarded_packets_total", "",                                 \
    "RTP packets forwarded to subscribers (NACK resends included)")                                \
  X(forwarded_bytes, counter, "sfu_forwarded_bytes_total", "",                                     \
    "RTP bytes forwarded to subscribers, before SRTP")                                             \
  X(nacks, counter, "sfu_nacks_total", "", "sequence numbers NACKed by subscribers")               \
  X(nack_hits, counter, "sfu_nack_hits_total", "", "NACKs answered from the packet cache")         \
  X(plis, counter, "sfu_plis_total", "", "PLI/FIR received from subscribers")                      \
  X(keyframe_requests, counter, "sfu_keyframe_requests_total", "",                                 \
    "keyframe requests (PLI) sent to publishers, coalesced and throttled per track")               \
  X(nacks_sent, counter, "sfu_nacks_sent_total", "",                                               \
    "sequence numbers the SFU NACKed to publishers (its own losses)")                              \
  X(rtx_received, counter, "sfu_rtx_received_total", "",                                           \
    "RTX packets from publishers turned back into the media they repair")                          \
  X(rtx_sent, counter, "sfu_rtx_sent_total", "", "subscriber NACKs answered as RTX")               \
  X(red_unwrapped, counter, "sfu_red_unwrapped_total", "",                                         \
    "RED audio packets forwarded as plain Opus to subscribers that did not accept RED")            \
  X(red_recovered, counter, "sfu_red_recovered_total", "",                                         \
    "audio packets lost from a publisher rebuilt from the RED redundancy of the next one")         \
  X(audio_padding, counter, "sfu_audio_padding_total", "",                                         \
    "padding-only audio packets (publishers' bandwidth probes), forwarded cut to one byte")        \
  X(dropped_red, counter, "sfu_dropped_packets_total", "reason=red", kSfuDroppedHelp)              \
  X(dropped_duplicate_audio, counter, "sfu_dropped_packets_total", "reason=duplicate",             \
    kSfuDroppedHelp)                                                                               \
  X(dropped_malformed, counter, "sfu_dropped_packets_total", "reason=malformed", kSfuDroppedHelp)  \
  X(dropped_unknown, counter, "sfu_dropped_packets_total", "reason=unknown_peer", kSfuDroppedHelp) \
  X(dropped_auth, counter, "sfu_dropped_packets_total", "reason=auth", kSfuDroppedHelp)            \
  X(dropped_send, counter, "sfu_dropped_packets_total", "reason=send", kSfuDroppedHelp)            \
  X(dropped_muted, counter, "sfu_dropped_packets_total", "reason=muted", kSfuDroppedHelp)          \
  X(dropped_rtx_padding, counter, "sfu_dropped_packets_total", "reason=padding", kSfuDroppedHelp)  \
  X(dropped_not_selected, counter, "sfu_dropped_not_selected_total", "",                           \
    "audio packets not forwarded: publisher outside the last-N speakers")                          \
  X(slot_switches, counter, "sfu_slot_switches_total", "",                                         \
    "audio slots that got a new speaker (last-N)")                                                 \
  X(layer_switches, counter, "sfu_layer_switches_total", "",                                       \
    "simulcast subscriptions that moved to another layer (at a keyframe of the new one)")          \
  X(bwe_feedback_used, counter, "sfu_bwe_feedback_total", "result=used", kBweFeedbackHelp)         \
  X(bwe_feedback_ignored, counter, "sfu_bwe_feedback_total", "result=ignored", kBweFeedbackHelp)   \
  X(bwe_feedback_malformed, counter, "sfu_bwe_feedback_total", "result=malformed",                 \
    kBweFeedbackHelp)                                                                              \
  X(bwe_probe_bytes, counter, "sfu_bwe_probe_bytes_total", "",                                     \
    "bytes sent to watchers as bandwidth probes (RTX of recent video)")                            \
  X(bwe_probe_measured, counter, "sfu_bwe_probes_total", "result=measured", kBweProbesHelp)        \
  X(bwe_probe_too_few, counter, "sfu_bwe_probes_total", "result=too_few_received", kBweProbesHelp) \
  X(bwe_probe_no_span, counter, "sfu_bwe_probes_total", "result=no_span", kBweProbesHelp)          \
  X(bwe_probe_compressed, counter, "sfu_bwe_probes_total", "result=compressed", kBweProbesHelp)    \
  X(bwe_probe_unfinished, counter, "sfu_bwe_probes_total", "result=unfinished", kBweProbesHelp)    \
  X(layer_pauses, counter, "sfu_layer_pauses_total", "",                                           \
    "simulcast layers the SFU asked their publisher to pause (nobody needed them)")                \
  X(layer_resumes, counter, "sfu_layer_resumes_total", "",                                         \
    "paused simulcast layers the SFU asked their publisher to resume")                             \
  X(rejected_tokens, counter, "sfu_rejected_tokens_total", "", "voice tokens refused on /voice")   \
  X(funnel_signaled, counter, "voice_join_funnel_total", "stage=signaled", kFunnelHelp)            \
  X(funnel_ice_connected, counter, "voice_join_funnel_total", "stage=ice_connected", kFunnelHelp)  \
  X(funnel_first_packet, counter, "voice_join_funnel_total", "stage=first_packet", kFunnelHelp)    \
  X(error_token, counter, "voice_errors_total", "kind=token_rejected",                             \
    telemetry::kVoiceErrorsHelp)                                                                   \
  X(error_sdp, counter, "voice_errors_total", "kind=invalid_sdp", telemetry::kVoiceErrorsHelp)     \
  X(error_signaling, counter, "voice_errors_total", "kind=signaling", telemetry::kVoiceErrorsHelp) \
  X(error_media_timeout, counter, "voice_errors_total", "kind=media_timeout",                      \
    telemetry::kVoiceErrorsHelp)                                                                   \
  X(cpu_ns, worker_ns, "sfu_worker_cpu_seconds_total", "worker", "CPU time of each SFU worker")

inline constexpr std::string_view kConnectionsHelp =
    "seed: sfu_node_connections. Participant transports on this SFU node";
// One family's HELP, shared by its rows.
inline constexpr std::string_view kFunnelHelp =
    "seed: voice join success. SFU voice connections reaching each stage of a join: signaled "
    "(offer answered), ice_connected (ICE and DTLS-SRTP up), first_packet (first media packet, "
    "RTP or RTCP, from the participant)";
inline constexpr std::string_view kSfuDroppedHelp =
    "datagrams dropped, by reason (malformed: unparseable STUN/RTP/RTCP; unknown_peer: no "
    "session for the ufrag or address, or SRTP not up yet; auth: ICE 401/400, SRTP auth or "
    "replay; send: send queue full, socket refused or protect failed; muted: server mute or "
    "no SPEAK permission; padding: RTX without media, as bandwidth probes send; red: a RED "
    "audio payload that does not parse; duplicate: an audio packet the SFU already has, a "
    "retransmission or one rebuilt from RED)";

inline constexpr std::string_view kBweProbesHelp =
    "bandwidth probe clusters sent to watchers, by what they measured (measured: a rate; "
    "too_few_received: under 80 % or 4 packets arrived; no_span: sent or received at one "
    "instant; compressed: received far faster than sent; unfinished: not every packet was "
    "reported)";
inline constexpr std::string_view kBweFeedbackHelp =
    "transport-wide CC feedback packets from subscribers, by what the downlink bandwidth "
    "estimator made of them (used: it reported packets not reported before; ignored: nothing "
    "new (duplicate, unknown or too old sequence numbers) or transport-cc not negotiated; "
    "malformed: did not parse)";

// A plain snapshot (or a sum over workers).
struct SfuCounterValues {
#define HYPE_SFU_VALUE_FIELD(name, kind, prom, label, help) std::uint64_t name = 0;
  HYPE_SFU_COUNTERS(HYPE_SFU_VALUE_FIELD)
#undef HYPE_SFU_VALUE_FIELD
};

struct SfuCounters {
// `name` is a member name: it cannot take the parentheses clang-tidy asks for.
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define HYPE_SFU_ATOMIC_FIELD(name, kind, prom, label, help) std::atomic<std::uint64_t> name{0};
  HYPE_SFU_COUNTERS(HYPE_SFU_ATOMIC_FIELD)
#undef HYPE_SFU_ATOMIC_FIELD

  // Adds this block to `sum` (any thread).
  void add_to(SfuCounterValues& sum) const {
// NOLINTBEGIN(bugprone-macro-parentheses): a member name, as above
#define HYPE_SFU_ADD_FIELD(name, kind, prom, label, help) \
  sum.name += name.load(std::memory_order_relaxed);
    // NOLINTEND(bugprone-macro-parentheses)
    HYPE_SFU_COUNTERS(HYPE_SFU_ADD_FIELD)
#undef HYPE_SFU_ADD_FIELD
  }
  SfuCounterValues snapshot() const {
    SfuCounterValues v;
    add_to(v);
    return v;
  }
};

// The owner thread's increment: a plain load and store, since nothing else writes the block.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// The table /metrics is registered from, one row per HYPE_SFU_COUNTERS entry.
enum class SfuMetricKind { gauge, counter, worker_ns };
struct SfuMetric {
  std::uint64_t SfuCounterValues::*field;
  SfuMetricKind kind;
  std::string_view name;
  std::string_view label;  // "" or "key=value"; worker_ns: the label key
  std::string_view help;
};

inline constexpr SfuMetric kSfuMetrics[] = {
#define HYPE_SFU_METRIC_ROW(name, kind, prom, label, help) \
  {&SfuCounterValues::name, SfuMetricKind::kind, prom, label, help},
    HYPE_SFU_COUNTERS(HYPE_SFU_METRIC_ROW)
#undef HYPE_SFU_METRIC_ROW
};

}  // namespace hype::sfu
