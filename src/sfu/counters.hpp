// The SFU's node-level counters, declared once in HYPE_SFU_COUNTERS. Each worker owns one
// SfuCounters block; its transports and rooms write into it directly on the worker thread
// (relaxed stores, no read-modify-write: one writer per block), and /metrics reads it from
// another thread through SfuService::stats(), which sums the blocks into SfuCounterValues.
// Adding a counter here gives it a field in both structs and in that sum; the Prometheus
// name and HELP are registered in src/app (server.cpp).
#pragma once

#include <atomic>
#include <cstdint>

namespace hype::sfu {

// X(field, what it counts)
#define HYPE_SFU_COUNTERS(X)                                                                 \
  X(connections, "participant transports (sessions), gauge")                                 \
  X(connected, "transports with DTLS-SRTP up, gauge")                                        \
  X(rooms, "rooms (voice channels), gauge")                                                  \
  X(participants, "participants in rooms, gauge")                                            \
  X(rx_packets, "UDP datagrams received")                                                    \
  X(rx_bytes, "UDP bytes received")                                                          \
  X(tx_packets, "UDP datagrams sent")                                                        \
  X(tx_bytes, "UDP bytes sent")                                                              \
  X(forwarded_packets, "RTP packets put on the wire to subscribers (NACK resends included)") \
  X(forwarded_bytes, "their bytes before SRTP")                                              \
  X(nacks, "sequence numbers NACKed by subscribers")                                         \
  X(nack_hits, "NACKed packets resent from the cache")                                       \
  X(plis, "PLI/FIR received from subscribers")                                               \
  X(dropped_malformed, "unparseable STUN/RTP/RTCP, unknown kind")                            \
  X(dropped_unknown, "no session for the ufrag or address, or SRTP not up yet")              \
  X(dropped_auth, "ICE 401/400, SRTP auth or replay")                                        \
  X(dropped_send, "send queue full, socket refused, or protect failed")                      \
  X(dropped_not_selected, "audio of a publisher outside the last-N")                         \
  X(dropped_muted, "server mute or no SPEAK permission")                                     \
  X(slot_switches, "an audio slot got a new source")                                         \
  X(cpu_ns, "worker thread CPU time, ns")

// A plain snapshot (or a sum over workers).
struct SfuCounterValues {
#define HYPE_SFU_VALUE_FIELD(name, help) std::uint64_t name = 0;
  HYPE_SFU_COUNTERS(HYPE_SFU_VALUE_FIELD)
#undef HYPE_SFU_VALUE_FIELD
};

struct SfuCounters {
#define HYPE_SFU_ATOMIC_FIELD(name, help) std::atomic<std::uint64_t> name{0};
  HYPE_SFU_COUNTERS(HYPE_SFU_ATOMIC_FIELD)
#undef HYPE_SFU_ATOMIC_FIELD

  // Adds this block to `sum` (any thread).
  void add_to(SfuCounterValues& sum) const {
#define HYPE_SFU_ADD_FIELD(name, help) sum.name += name.load(std::memory_order_relaxed);
    HYPE_SFU_COUNTERS(HYPE_SFU_ADD_FIELD)
#undef HYPE_SFU_ADD_FIELD
  }
};

// The owner thread's increment: a plain load and store, since nothing else writes the block.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace hype::sfu
