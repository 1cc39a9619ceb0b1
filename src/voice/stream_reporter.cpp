#include "voice/stream_reporter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <exception>
#include <mutex>

#include "chat/permissions.hpp"

namespace hype::voice {

cluster::Task<bool> publish_stream_update(cluster::Coordinator& coord, cluster::EventBus& bus,
                                          const chat::EventEncoder& encode, Id channel, Id user,
                                          bool live, std::vector<Id> viewers) {
  auto st = co_await coord.async_voice_state(user);
  if (!st || st->channel_id != channel) co_return false;
  cluster::Event e{.type = cluster::EventType::stream_update,
                   .guild_id = st->guild_id,
                   .required_permissions = chat::perm::kViewChannel,
                   .subject_user_id = user,
                   .channel_id = channel};
  e.data = encode(chat::StreamChange{st->guild_id, channel, user, live, std::move(viewers)});
  bus.publish(e);
  co_return true;
}

struct StreamReporter::Queue {
  Queue(boost::asio::any_io_executor e, cluster::Coordinator& c, cluster::EventBus& b,
        chat::EventEncoder enc)
      : ex(std::move(e)), coord(c), bus(b), encode(std::move(enc)) {}
  boost::asio::any_io_executor ex;
  cluster::Coordinator& coord;
  cluster::EventBus& bus;
  chat::EventEncoder encode;
  std::mutex mu;
  std::deque<chat::StreamChange> pending;  // guild_id unused: publish reads it
  bool draining = false;                   // a drain coroutine owns the queue's front
};

cluster::Task<void> StreamReporter::drain(std::shared_ptr<StreamReporter::Queue> q) {
  for (;;) {
    chat::StreamChange c;
    {
      std::lock_guard lock(q->mu);
      if (q->pending.empty()) {
        q->draining = false;
        co_return;
      }
      c = std::move(q->pending.front());
      q->pending.pop_front();
    }
    try {
      co_await publish_stream_update(q->coord, q->bus, q->encode, c.channel_id, c.user_id, c.live,
                                     std::move(c.viewer_ids));
    } catch (const std::exception& ex) {
      // The Coordinator failed (a cluster backend cut off): this report is lost, the next
      // change of the stream sends its whole state again.
      spdlog::warn("stream update user={} channel={} not published: {}", c.user_id, c.channel_id,
                   ex.what());
    }
  }
}

StreamReporter::StreamReporter(boost::asio::any_io_executor ex, cluster::Coordinator& coord,
                               cluster::EventBus& bus, chat::EventEncoder encode)
    : queue_(std::make_shared<Queue>(std::move(ex), coord, bus, std::move(encode))) {}

StreamReporter::~StreamReporter() = default;

void StreamReporter::report(Id channel, Id user, bool live, std::vector<Id> viewers) {
  bool start = false;
  {
    std::lock_guard lock(queue_->mu);
    auto& p = queue_->pending;
    auto same = std::find_if(p.begin(), p.end(), [&](const chat::StreamChange& c) {
      return c.channel_id == channel && c.user_id == user;
    });
    chat::StreamChange c{0, channel, user, live, std::move(viewers)};
    if (same != p.end())
      *same = std::move(c);  // each report is the stream's whole state: the later one wins
    else
      p.push_back(std::move(c));
    start = !queue_->draining;
    queue_->draining = true;
  }
  // Posted, not dispatched: even when the caller runs on the event loop (the SFU's signaling
  // strand does), the Coordinator and the bus's handlers run after it returned.
  if (start)
    boost::asio::post(queue_->ex, [q = queue_] {
      boost::asio::co_spawn(q->ex, drain(q), boost::asio::detached);
    });
}

}  // namespace hype::voice
