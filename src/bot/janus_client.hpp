// hype-bot's client for Janus's JSON API over HTTP (the peer SFU of bench/voice): sessions,
// plugin handles, plugin messages with JSEP, and the long poll that delivers asynchronous
// plugin events. Blocking, one instance per bot thread. Only what the videoroom plugin needs
// for a publisher (join + publish with an offer) and a subscriber (join with feeds, start
// with an answer) is here; every other event (webrtcup, media, talking...) is skipped.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

namespace hype::bot {

struct JanusEvent {
  boost::json::object data;  // plugindata.data
  boost::json::value jsep;   // null when the event carries none
};

class JanusClient {
 public:
  // base_url: "http://127.0.0.1:8088/janus"
  explicit JanusClient(const std::string& base_url);
  // Throws std::runtime_error on transport failure or a Janus "error" answer.
  void create_session();
  std::uint64_t attach(const std::string& plugin);
  // Sends a plugin message; returns the plugin's answer, synchronous ("success") or the
  // event with the same transaction delivered by the long poll. A plugin-level error
  // ({"error_code":...} in data) is thrown.
  JanusEvent message(std::uint64_t handle, const boost::json::object& body,
                     const boost::json::value& jsep = nullptr, double timeout_s = 30);
  void destroy_session();
  std::uint64_t session() const { return session_; }

 private:
  boost::json::value post(const std::string& path, boost::json::object body);
  boost::json::value get(const std::string& path);
  std::string host_, port_, path_;
  std::uint64_t session_ = 0;
  std::uint64_t next_tx_ = 1;
};

}  // namespace hype::bot
