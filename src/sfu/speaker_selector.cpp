#include "sfu/speaker_selector.hpp"

#include <algorithm>

namespace hype::sfu {

// entries_ is sorted by id: lookups stay O(log n) in channels of hundreds.
SpeakerSelector::Entry* SpeakerSelector::find(std::uint64_t id) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const Entry& e, std::uint64_t v) { return e.id < v; });
  return it != entries_.end() && it->id == id ? &*it : nullptr;
}

const SpeakerSelector::Entry* SpeakerSelector::find(std::uint64_t id) const {
  return const_cast<SpeakerSelector*>(this)->find(id);
}

void SpeakerSelector::add(std::uint64_t participant) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), participant,
                             [](const Entry& e, std::uint64_t v) { return e.id < v; });
  if (it != entries_.end() && it->id == participant) return;
  Entry e;
  e.id = participant;
  e.join_order = joins_++;
  entries_.insert(it, e);
}

void SpeakerSelector::remove(std::uint64_t participant) {
  for (auto& t : tiers_) std::erase(t, participant);
  std::erase_if(entries_, [&](const Entry& e) { return e.id == participant; });
}

bool SpeakerSelector::selected(std::uint64_t participant) const {
  const Entry* e = find(participant);
  return e && e->tier >= 0;
}

void SpeakerSelector::forwarded_to(std::uint64_t subscriber,
                                   std::vector<std::uint64_t>& out) const {
  bool in_primary = false;
  for (std::uint64_t id : tiers_[0]) {
    if (id == subscriber)
      in_primary = true;
    else
      out.push_back(id);
  }
  if (in_primary)
    for (std::uint64_t id : tiers_[1])
      if (id != subscriber) out.push_back(id);
}

void SpeakerSelector::place(Entry& e, int tier, std::size_t index) {
  auto& t = tiers_[tier];
  if (e.tier >= 0) std::erase(tiers_[e.tier], e.id);  // a reserve promoted to primary
  if (index < t.size()) {
    if (Entry* old = find(t[index])) old->tier = -1;
    t[index] = e.id;
  } else {
    t.push_back(e.id);
  }
  e.tier = tier;
  e.challenge_since_ms[0] = e.challenge_since_ms[1] = -1;
}

bool SpeakerSelector::fill(int tier, std::size_t capacity, std::int64_t now_ms) {
  // Waiting participants, best first: speakers by loudness, then the most recent speakers,
  // then by join order.
  order_.clear();
  for (auto& e : entries_)
    if (e.tier < 0 || e.tier > tier) order_.push_back(&e);
  std::sort(order_.begin(), order_.end(), [](const Entry* a, const Entry* b) {
    if (a->speaking != b->speaking) return a->speaking;
    if (a->speaking && a->loudness != b->loudness) return a->loudness > b->loudness;
    if (a->last_spoke_ms != b->last_spoke_ms) return a->last_spoke_ms > b->last_spoke_ms;
    return a->join_order < b->join_order;
  });
  bool changed = false;
  auto& members = tiers_[tier];
  for (Entry* c : order_) {
    if (c->tier >= 0 && c->tier <= tier) continue;  // placed earlier in this pass
    if (members.size() < capacity) {
      place(*c, tier, members.size());
      changed = true;
      continue;
    }
    std::int64_t& since = c->challenge_since_ms[tier];
    if (!c->speaking) {
      since = -1;
      continue;
    }
    // A quiet member past its hold gives way at once (the one quiet the longest).
    std::size_t victim = members.size();
    std::int64_t oldest = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
      const Entry* m = find(members[i]);
      if (m->speaking || (m->last_spoke_ms >= 0 && now_ms - m->last_spoke_ms < o_.hold_ms))
        continue;
      if (victim == members.size() || m->last_spoke_ms < oldest) {
        victim = i;
        oldest = m->last_spoke_ms;
      }
    }
    if (victim < members.size()) {
      place(*c, tier, victim);
      changed = true;
      continue;
    }
    // Otherwise only a clearly louder speaker, for long enough, displaces the quietest.
    std::size_t quietest = 0;
    for (std::size_t i = 1; i < members.size(); ++i)
      if (find(members[i])->loudness < find(members[quietest])->loudness) quietest = i;
    if (members.empty() || c->loudness <= find(members[quietest])->loudness + o_.switch_margin) {
      since = -1;
      continue;
    }
    if (since < 0) since = now_ms;
    if (now_ms - since >= o_.switch_hold_ms) {
      place(*c, tier, quietest);
      changed = true;
    }
  }
  return changed;
}

bool SpeakerSelector::update(const SpeakerDetector& detector, std::int64_t now_ms) {
  for (auto& e : entries_) e.speaking = false, e.loudness = 0;
  detector.for_each([&](std::uint64_t id, bool speaking, double loudness) {
    if (Entry* e = find(id)) {
      e->speaking = speaking;
      e->loudness = loudness;
      if (speaking) e->last_spoke_ms = now_ms;
    }
  });
  std::size_t n = static_cast<std::size_t>(std::max(o_.max_selected, 1));
  bool changed = fill(0, n, now_ms);
  changed |= fill(1, 1, now_ms);
  return changed;
}

}  // namespace hype::sfu
