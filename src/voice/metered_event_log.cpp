#include "voice/metered_event_log.hpp"

namespace hype::voice {

namespace {

class MeteredEventLog final : public cluster::EventLog {
 public:
  MeteredEventLog(std::unique_ptr<cluster::EventLog> inner, metrics::Registry& registry)
      : inner_(std::move(inner)),
        sessions_(registry
                      .histogram("voice_session_duration_seconds",
                                 "Voice session length (join to leave, moves and kicks included), "
                                 "observed at leave",
                                 session_duration_buckets())
                      .get()) {}

  void append(const cluster::VoiceEvent& e) override {
    if (e.type == cluster::VoiceEventType::leave)
      sessions_.observe(static_cast<double>(std::max<std::int64_t>(0, e.duration_ms)) / 1000.0);
    inner_->append(e);
  }
  std::vector<cluster::VoiceEvent> read(const std::string& group, int max) override {
    return inner_->read(group, max);
  }
  void ack(const std::string& group, const std::vector<Id>& ids) override {
    inner_->ack(group, ids);
  }

 private:
  std::unique_ptr<cluster::EventLog> inner_;
  metrics::Histogram& sessions_;
};

}  // namespace

std::vector<double> session_duration_buckets() {
  return {10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800};
}

std::unique_ptr<cluster::EventLog> make_metered_event_log(std::unique_ptr<cluster::EventLog> inner,
                                                          metrics::Registry& registry) {
  return std::make_unique<MeteredEventLog>(std::move(inner), registry);
}

}  // namespace hype::voice
