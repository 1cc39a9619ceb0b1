#include "cluster/event_log.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace hype::cluster {

namespace {

struct TypeName {
  VoiceEventType type;
  const char* name;
};
constexpr TypeName kTypes[] = {
    {VoiceEventType::join, "join"},
    {VoiceEventType::leave, "leave"},
    {VoiceEventType::mode_switch, "mode_switch"},
    {VoiceEventType::stream_start, "stream_start"},
    {VoiceEventType::stream_stop, "stream_stop"},
    {VoiceEventType::sfu_node_lost, "sfu_node_lost"},
};

// Keeps every event (tests are short); each group sees all events it has not acknowledged,
// as a Redis consumer group created from the start of the stream would.
class MemoryEventLog final : public EventLog {
 public:
  void append(const VoiceEvent& e) override {
    std::lock_guard lock(mu_);
    events_[e.id] = e;
  }
  std::vector<VoiceEvent> read(const std::string& group, int max) override {
    std::lock_guard lock(mu_);
    auto& acked = acked_[group];
    std::vector<VoiceEvent> out;
    for (auto& [id, e] : events_) {
      if (static_cast<int>(out.size()) >= max) break;
      if (!acked.count(id)) out.push_back(e);
    }
    return out;
  }
  void ack(const std::string& group, const std::vector<Id>& ids) override {
    std::lock_guard lock(mu_);
    auto& acked = acked_[group];
    acked.insert(ids.begin(), ids.end());
  }

 private:
  std::mutex mu_;
  std::map<Id, VoiceEvent> events_;
  std::map<std::string, std::set<Id>> acked_;
};

}  // namespace

const char* voice_event_type_name(VoiceEventType t) {
  for (auto& k : kTypes)
    if (k.type == t) return k.name;
  return "unknown";
}

std::optional<VoiceEventType> parse_voice_event_type(std::string_view name) {
  for (auto& k : kTypes)
    if (name == k.name) return k.type;
  return std::nullopt;
}

std::unique_ptr<EventLog> make_memory_event_log() {
  return std::make_unique<MemoryEventLog>();
}

}  // namespace hype::cluster
