#include <map>
#include <mutex>

#include "cluster/event_bus.hpp"

namespace hype::cluster {

namespace {

class LocalEventBus final : public EventBus {
 public:
  void publish(const Event& e) override {
    std::map<int, Handler> handlers;
    {
      std::lock_guard lock(mu_);
      handlers = handlers_;
    }
    for (auto& [id, h] : handlers) h(e);
  }
  int subscribe(Handler h) override {
    std::lock_guard lock(mu_);
    handlers_[++next_] = std::move(h);
    return next_;
  }
  void unsubscribe(int id) override {
    std::lock_guard lock(mu_);
    handlers_.erase(id);
  }

 private:
  std::mutex mu_;
  std::map<int, Handler> handlers_;
  int next_ = 0;
};

}  // namespace

std::unique_ptr<EventBus> make_local_event_bus() {
  return std::make_unique<LocalEventBus>();
}

}  // namespace hype::cluster
