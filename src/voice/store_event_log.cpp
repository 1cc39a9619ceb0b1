#include "voice/store_event_log.hpp"

#include <stdexcept>
#include <string>

namespace hype::voice {

namespace {

store::VoiceEventRow to_row(const cluster::VoiceEvent& e) {
  return {e.id,          cluster::voice_event_type_name(e.type),
          e.guild_id,    e.channel_id,
          e.user_id,     e.at,
          e.duration_ms, e.mode,
          e.node_id,     e.guild_users};
}

class StoreEventLog final : public cluster::EventLog {
 public:
  explicit StoreEventLog(store::Store& store) : store_(store) {}

  void append(const cluster::VoiceEvent& e) override { store_.append_voice_event(to_row(e)); }

  std::vector<cluster::VoiceEvent> read(const std::string& group, int max) override {
    check(group);
    std::vector<cluster::VoiceEvent> out;
    for (auto& r : store_.list_voice_events(max)) {
      auto type = cluster::parse_voice_event_type(r.type);
      if (!type) continue;  // written by a newer version: left for it
      out.push_back({r.id, *type, r.guild_id, r.channel_id, r.user_id, r.at, r.duration_ms, r.mode,
                     r.node_id, r.guild_users});
    }
    return out;
  }

  void ack(const std::string& group, const std::vector<Id>& ids) override {
    check(group);
    store_.delete_voice_events(ids);
  }

 private:
  static void check(const std::string& group) {
    if (group != kAnalyticsGroup)
      throw std::invalid_argument("the store event log has one consumer group: analytics, not " +
                                  group);
  }
  store::Store& store_;
};

}  // namespace

std::unique_ptr<cluster::EventLog> make_store_event_log(store::Store& store) {
  return std::make_unique<StoreEventLog>(store);
}

}  // namespace hype::voice
