// Last-N selection: which participants' audio the SFU forwards at all, so a listener decodes
// at most N streams however big the channel is. Built on the SpeakerDetector's smoothed
// loudness. The room keeps a primary tier of N participants (what everyone outside it hears)
// and one reserve (so a primary member, who does not hear itself, still hears N others).
//  - A free place in a tier goes to the loudest speaker waiting, or (when nobody waiting
//    speaks) to the most recent speaker / earliest joiner: a small room forwards everyone,
//    and nobody's speech onset is clipped while there is room.
//  - A selected participant keeps its place while it speaks and for hold_ms after it stops.
//  - A new speaker takes the place of a member whose hold expired at once; otherwise it
//    displaces the quietest member only when louder by switch_margin for switch_hold_ms.
// A tier's order is the order members entered it, so the per-subscriber view is stable.
// update() runs on the owner's tick (~50 ms), never per packet.
#pragma once

#include <cstdint>
#include <vector>

#include "sfu/speaker_detector.hpp"

namespace hype::sfu {

struct SelectorOptions {
  int max_selected = 3;               // N: streams a listener receives at most
  std::int64_t hold_ms = 1000;        // a quiet member keeps its place this long
  double switch_margin = 6;           // loudness a challenger must exceed the quietest by
  std::int64_t switch_hold_ms = 300;  // for this long
};

class SpeakerSelector {
 public:
  explicit SpeakerSelector(SelectorOptions o = {}) : o_(o) {}

  void add(std::uint64_t participant);
  void remove(std::uint64_t participant);
  // Re-ranks from the detector's state; true when any tier changed.
  bool update(const SpeakerDetector& detector, std::int64_t now_ms);
  // Appends the participants `subscriber` should receive (at most max_selected, never itself).
  void forwarded_to(std::uint64_t subscriber, std::vector<std::uint64_t>& out) const;
  bool selected(std::uint64_t participant) const;
  const std::vector<std::uint64_t>& primary() const { return tiers_[0]; }
  const std::vector<std::uint64_t>& reserve() const { return tiers_[1]; }
  const SelectorOptions& options() const { return o_; }

 private:
  struct Entry {
    std::uint64_t id = 0;
    std::uint64_t join_order = 0;
    std::int64_t last_spoke_ms = -1;  // -1: never
    double loudness = 0;
    bool speaking = false;
    int tier = -1;                                  // 0 primary, 1 reserve, -1 none
    std::int64_t challenge_since_ms[2] = {-1, -1};  // challenging tier i's quietest since
  };
  Entry* find(std::uint64_t id);
  const Entry* find(std::uint64_t id) const;
  bool fill(int tier, std::size_t capacity, std::int64_t now_ms);
  void place(Entry& e, int tier, std::size_t index);

  SelectorOptions o_;
  std::vector<Entry> entries_;
  std::vector<std::uint64_t> tiers_[2];
  std::vector<Entry*> order_;  // scratch for update()
  std::uint64_t joins_ = 0;
};

}  // namespace hype::sfu
