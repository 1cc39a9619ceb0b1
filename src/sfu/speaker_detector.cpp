#include "sfu/speaker_detector.hpp"

#include <algorithm>
#include <cmath>

namespace hype::sfu {

SpeakerDetector::SpeakerDetector(SpeakerOptions o) : o_(o) {
  for (std::size_t i = 0; i < weight_.size(); ++i)
    weight_[i] = 1.0 - std::pow(1.0 - o_.smoothing, static_cast<double>(i) / 20.0);
}

SpeakerDetector::Entry* SpeakerDetector::find(std::uint64_t id) {
  for (auto& e : entries_)
    if (e.id == id) return &e;
  return nullptr;
}

const SpeakerDetector::Entry* SpeakerDetector::find(std::uint64_t id) const {
  for (auto& e : entries_)
    if (e.id == id) return &e;
  return nullptr;
}

void SpeakerDetector::add(std::uint64_t participant) {
  if (!find(participant)) entries_.push_back(Entry{participant});
}

void SpeakerDetector::remove(std::uint64_t participant) {
  std::erase_if(entries_, [&](const Entry& e) { return e.id == participant; });
  // The next tick elects someone else (or nobody) and reports it.
}

void SpeakerDetector::on_level(std::uint64_t participant, std::uint8_t level_dbov,
                               std::int64_t now_ms) {
  Entry* e = find(participant);
  if (!e) return;
  double sample = 127.0 - std::min<std::uint8_t>(level_dbov, 127);
  if (e->last_packet_ms < 0) {
    e->loudness = sample;
  } else {
    // smoothing per 20 ms of audio, whatever the packets' length (weight_).
    const auto gap = std::clamp<std::int64_t>(now_ms - e->last_packet_ms, 0, kMaxGapMs);
    e->loudness += weight_[static_cast<std::size_t>(gap)] * (sample - e->loudness);
  }
  e->last_packet_ms = now_ms;
}

bool SpeakerDetector::speaking(std::uint64_t participant) const {
  const Entry* e = find(participant);
  return e && e->speaking;
}

double SpeakerDetector::loudness(std::uint64_t participant) const {
  const Entry* e = find(participant);
  return e ? e->loudness : 0;
}

void SpeakerDetector::tick(std::int64_t now_ms, std::vector<SpeakerEvent>& out) {
  for (auto& e : entries_) {
    bool silent = e.last_packet_ms < 0 || now_ms - e.last_packet_ms > o_.silence_ms;
    if (silent) e.loudness = 0;
    bool s = e.speaking ? (!silent && e.loudness >= o_.off_threshold)
                        : (!silent && e.loudness >= o_.on_threshold);
    if (s != e.speaking) {
      e.speaking = s;
      out.push_back({SpeakerEvent::Type::kSpeaking, e.id, s});
    }
  }
  Entry* current = active_ ? find(active_) : nullptr;
  if (current && !current->speaking) current = nullptr;
  Entry* loudest = nullptr;
  for (auto& e : entries_) {
    if (e.speaking && (!loudest || e.loudness > loudest->loudness)) loudest = &e;
  }
  std::uint64_t next = active_;
  if (!current) {
    // Keep the last active speaker while nobody else talks (clients keep the highlight).
    if (loudest)
      next = loudest->id;
    else if (active_ && !find(active_))
      next = 0;
  } else if (loudest && loudest != current) {
    if (loudest->loudness > current->loudness + o_.switch_margin) {
      if (loudest->louder_since_ms < 0) loudest->louder_since_ms = now_ms;
      if (now_ms - loudest->louder_since_ms >= o_.switch_hold_ms) next = loudest->id;
    } else {
      loudest->louder_since_ms = -1;
    }
  }
  if (next != active_) {
    active_ = next;
    for (auto& e : entries_) e.louder_since_ms = -1;
    out.push_back({SpeakerEvent::Type::kActiveSpeaker, active_, active_ != 0});
  }
}

}  // namespace hype::sfu
