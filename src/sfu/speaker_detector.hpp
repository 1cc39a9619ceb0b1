// Speaking and active-speaker detection from the RFC 6464 audio level every publisher puts
// in its RTP header extension, so the SFU never decodes audio. Each participant keeps an
// exponentially smoothed loudness (0 silence .. 127 loudest); speaking starts above an "on"
// threshold and ends below a lower "off" threshold or when packets stop (Opus DTX sends
// nothing during silence, so absence means quiet). The active speaker is the loudest speaker,
// replaced only by someone louder by a margin for a hold time, so it does not flicker.
// tick() is called every ~50 ms by the owner and reports changes as events.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace hype::sfu {

struct SpeakerOptions {
  // Weight of a new sample in the moving average per 20 ms of audio: a packet weighs by the
  // time since the previous one, so 10 ms and 20 ms packets smooth alike.
  double smoothing = 0.3;
  double on_threshold = 50;       // loudness (127 - dBov) to start speaking (about -77 dBov)
  double off_threshold = 35;      // loudness to stop speaking
  std::int64_t silence_ms = 400;  // no packets for this long: not speaking
  double switch_margin = 6;       // loudness a challenger must exceed the active speaker by
  std::int64_t switch_hold_ms = 300;
  // Last-N (SpeakerSelector): a forwarded speaker keeps its place this long after it stops.
  std::int64_t selection_hold_ms = 1000;
};

struct SpeakerEvent {
  enum class Type : std::uint8_t { kSpeaking, kActiveSpeaker };
  Type type = Type::kSpeaking;
  std::uint64_t participant = 0;  // kActiveSpeaker: 0 when nobody speaks
  bool speaking = false;
};

class SpeakerDetector {
 public:
  explicit SpeakerDetector(SpeakerOptions o = {});

  void add(std::uint64_t participant);
  void remove(std::uint64_t participant);
  // One audio packet's level (dBov, 0 loudest, 127 silent).
  void on_level(std::uint64_t participant, std::uint8_t level_dbov, std::int64_t now_ms);
  // Appends state changes since the last tick to out.
  void tick(std::int64_t now_ms, std::vector<SpeakerEvent>& out);

  bool speaking(std::uint64_t participant) const;
  std::uint64_t active_speaker() const { return active_; }
  double loudness(std::uint64_t participant) const;
  // f(id, speaking, loudness) for every participant: one pass, for the last-N selection.
  template <typename F>
  void for_each(F&& f) const {
    for (auto& e : entries_) f(e.id, e.speaking, e.loudness);
  }

 private:
  struct Entry {
    std::uint64_t id = 0;
    double loudness = 0;
    std::int64_t last_packet_ms = -1;
    bool speaking = false;
    std::int64_t louder_since_ms = -1;  // challenging the active speaker since
  };
  Entry* find(std::uint64_t id);
  const Entry* find(std::uint64_t id) const;

  // The largest gap between two packets that still smooths; longer gaps weigh as this.
  static constexpr std::int64_t kMaxGapMs = 200;

  SpeakerOptions o_;
  // A new level's weight after a gap of i ms: 1 - (1 - smoothing)^(i / 20), computed once.
  std::array<double, kMaxGapMs + 1> weight_{};
  std::vector<Entry> entries_;
  std::uint64_t active_ = 0;
};

}  // namespace hype::sfu
