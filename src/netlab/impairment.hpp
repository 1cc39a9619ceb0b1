// netlab: a pure model of an impaired network path, one direction at a time, and the scripted
// schedules that switch its profile over time. No I/O and no clock: the caller passes each
// packet's arrival time and size, the model answers "drop" or "release at t". Seeded, so a
// test (or a benchmark rerun) sees exactly the same losses and delays. The UDP relay
// hype-netlab (relay.hpp) drives one Link per client and direction; see docs/design/netlab.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace hype::netlab {

enum class JitterDist {
  kUniform,  // delay + U(-jitter, +jitter): bounded, the default
  kNormal,   // delay + N(0, jitter) clamped to +-3 jitter: a tail, like a busy radio link
};

// Two-state Markov loss (Gilbert-Elliott): each packet first moves the state (good -> bad
// with p, bad -> good with r), then is lost with the state's loss ratio. Mean burst length
// (loss_bad = 1, loss_good = 0) is 1/r; stationary share of bad is p / (p + r).
struct GilbertElliott {
  double p = 0;          // good -> bad, per packet
  double r = 1;          // bad -> good, per packet
  double loss_bad = 1;   // loss ratio in the bad state
  double loss_good = 0;  // loss ratio in the good state
  bool enabled() const { return p > 0 || loss_good > 0; }
  double mean_loss() const;  // stationary loss ratio
};

struct Impairment {
  double delay_ms = 0;   // one-way base delay
  double jitter_ms = 0;  // see JitterDist; the total delay never goes below 0
  JitterDist jitter_dist = JitterDist::kUniform;
  // false: a packet never overtakes an earlier one (release = max(its time, previous
  // release)), like most real paths; true: jitter reorders, like netem.
  bool reorder = false;
  double loss = 0;  // independent random loss ratio, on top of gilbert_elliott
  GilbertElliott gilbert_elliott;
  double rate_kbps = 0;     // bottleneck rate (token bucket); 0: unlimited
  int burst_bytes = 1500;   // token bucket depth
  int queue_packets = 100;  // bottleneck queue; tail drop past it
};

// "clean", "wifi" (25 ms / 10 ms / 1 %), "mobile" (50 ms / 20 ms / 2 % random), "bursty"
// (50 ms / 20 ms / 5 % Gilbert-Elliott, mean burst 3 packets); nullopt for another name.
std::optional<Impairment> named_profile(const std::string& name);
std::vector<std::string> profile_names();

// A profile name and/or comma-separated key=value overrides, e.g. "mobile", "delay=30,
// jitter=5,loss=0.01", "bursty,rate=500,queue=20", "ge=0.02:0.3:1:0,dist=normal,reorder=1".
// Keys: delay jitter dist(uniform|normal) reorder(0|1) loss ge(p:r[:bad[:good]]) rate burst
// queue. Throws std::invalid_argument naming the bad part.
Impairment parse_impairment(const std::string& spec);
std::string describe(const Impairment& imp);  // the spec form, for logs and stats

// A deterministic generator with a fixed algorithm (the std distributions are not the same
// on every standard library, so they are avoided).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal();  // N(0, 1), Box-Muller
 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

enum class Fate { kRelease, kLost, kQueueFull };

struct Verdict {
  Fate fate = Fate::kRelease;
  std::int64_t release_us = 0;  // when kRelease
};

// One direction of one path. decide() must be called in arrival order (times not
// decreasing); it keeps the few numbers the model needs and never allocates after
// construction.
class Link {
 public:
  Link(const Impairment& imp, std::uint64_t seed);
  Verdict decide(std::int64_t now_us, std::size_t bytes);
  // Switches profile from now on: the loss state restarts in "good", packets already
  // decided keep their times, and reorder=false still holds across the switch.
  void set_impairment(const Impairment& imp);
  const Impairment& impairment() const { return imp_; }

 private:
  Impairment imp_;
  Rng rng_;
  bool bad_ = false;
  double tokens_ = 0;  // bytes, at tokens_at_us_
  std::int64_t tokens_at_us_ = 0;
  std::int64_t link_free_us_ = 0;    // the bottleneck sends the next packet no earlier
  std::vector<std::int64_t> queue_;  // departure times of packets in the bottleneck (ring)
  std::size_t q_head_ = 0, q_size_ = 0;
  std::int64_t last_release_us_ = 0;
};

}  // namespace hype::netlab
