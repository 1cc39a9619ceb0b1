#include "cluster/mode_policy.hpp"

#include <utility>

namespace hype::cluster {

const char* mode_name(VoiceMode m) {
  return m == VoiceMode::sfu ? "sfu" : "p2p";
}

ModePolicy::ModePolicy(Options o) : o_(std::move(o)) {
  if (o_.mode == "p2p") fixed_ = VoiceMode::p2p;
  if (o_.mode == "sfu") fixed_ = VoiceMode::sfu;
}

bool ModePolicy::due(const State& s, std::int64_t now_ms) const {
  return s.mode == VoiceMode::sfu && s.low_since && now_ms - *s.low_since >= o_.return_delay_ms;
}

std::optional<VoiceMode> ModePolicy::on_count(Id channel_id, int count, std::int64_t now_ms) {
  if (fixed()) return std::nullopt;
  if (count <= 0) {
    auto it = channels_.find(channel_id);
    if (it == channels_.end()) return std::nullopt;
    VoiceMode was = it->second.mode;
    channels_.erase(it);
    if (was == VoiceMode::sfu) return VoiceMode::p2p;
    return std::nullopt;
  }
  State& s = channels_[channel_id];
  if (count > o_.p2p_max_users) {
    s.low_since.reset();
    if (s.mode == VoiceMode::p2p) {
      s.mode = VoiceMode::sfu;
      return VoiceMode::sfu;
    }
    return std::nullopt;
  }
  if (s.mode == VoiceMode::p2p) return std::nullopt;
  if (count > o_.p2p_max_users - 2) {
    s.low_since.reset();
    return std::nullopt;
  }
  if (!s.low_since) s.low_since = now_ms;
  if (due(s, now_ms)) {
    s.mode = VoiceMode::p2p;
    s.low_since.reset();
    return VoiceMode::p2p;
  }
  return std::nullopt;
}

std::vector<ModeChange> ModePolicy::tick(std::int64_t now_ms) {
  std::vector<ModeChange> out;
  for (auto& [id, s] : channels_) {
    if (!due(s, now_ms)) continue;
    s.mode = VoiceMode::p2p;
    s.low_since.reset();
    out.push_back({id, VoiceMode::p2p});
  }
  return out;
}

VoiceMode ModePolicy::mode(Id channel_id) const {
  if (fixed_) return *fixed_;
  auto it = channels_.find(channel_id);
  return it == channels_.end() ? VoiceMode::p2p : it->second.mode;
}

}  // namespace hype::cluster
