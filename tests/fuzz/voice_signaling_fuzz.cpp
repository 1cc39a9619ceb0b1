// The SFU's /voice signaling on arbitrary client frames: one real SfuService (one worker on a
// loopback UDP port, started once) and, per input, a connection fed the input split into
// frames at '\n' (a frame starting with 0x01 arrives as binary). Whatever the client sends
// (bad JSON, ops out of order, odd types, hostile SDP in offers and answers) the service must
// answer or close, never crash, and tear everything down when the connection goes.
// Tokens are "<user id>" (the channel is fixed), so inputs can identify and reach the offer
// path; the seed corpus carries a whole identify + offer + answer exchange.
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sfu/sfu_service.hpp"

using namespace hype;

namespace {

class NullWs final : public net::WsConnection {
 public:
  void send(std::string) override {}
  void close(int, std::string) override {}
  std::size_t queued() const override { return 0; }
  const std::string& remote_ip() const override { return ip_; }

 private:
  std::string ip_ = "127.0.0.1";
};

struct Harness {
  boost::asio::io_context io;
  std::unique_ptr<sfu::SfuService> svc;
  Harness() {
    sfu::SfuOptions o;
    o.workers = 1;
    o.bind_ip = "127.0.0.1";
    svc = std::make_unique<sfu::SfuService>(
        io.get_executor(), o,
        [](const std::string& token, std::string& error) -> std::optional<sfu::VoiceIdentity> {
          if (token.empty() || token.size() > 6 ||
              token.find_first_not_of("0123456789") != std::string::npos) {
            error = "invalid";
            return std::nullopt;
          }
          return sfu::VoiceIdentity{std::stoull(token) + 1, 7, 1};
        },
        [](const sfu::VoiceIdentity& who) -> std::optional<sfu::SessionGrant> {
          if (who.user % 7 == 0) return std::nullopt;  // some sessions lose their grant
          return sfu::SessionGrant{who.user % 5 != 0, who.user % 3 != 0};
        });
    svc->start();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness h;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Two connections (a streamer and a watcher, say): a frame starting with 0x02 goes to the
  // second one, without that byte.
  std::shared_ptr<net::WsListener> conns[2] = {
      h.svc->open(std::make_shared<NullWs>(), net::HttpRequest{}),
      h.svc->open(std::make_shared<NullWs>(), net::HttpRequest{})};
  int frames = 0;
  while (!in.empty() && frames++ < 32) {
    auto nl = in.find('\n');
    std::string_view f = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    int which = 0;
    if (!f.empty() && f.front() == '\x02') {
      which = 1;
      f.remove_prefix(1);
    }
    bool binary = !f.empty() && f.front() == '\x01';
    conns[which]->on_message(f, !binary);
    h.io.restart();
    h.io.poll();
  }
  if (size % 3 == 0) h.svc->recheck_user(size % 11);
  for (auto& listener : conns) listener->on_close();
  h.io.restart();
  h.io.poll();
  return 0;
}
