#include "bot/janus_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>

#include "bot/signaling_client.hpp"
#include "core/random.hpp"

namespace hype::bot {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

json::value request(const std::string& host, const std::string& port, http::verb verb,
                    const std::string& target, const std::string& body) {
  auto res = http_exchange(host, port, std::string(http::to_string(verb)), target,
                           verb == http::verb::post ? body : std::string());
  if (res.status != 200)
    throw std::runtime_error("janus: HTTP " + std::to_string(res.status) + " " + target);
  beast::error_code ec;
  auto v = json::parse(res.body, ec);
  if (ec) throw std::runtime_error("janus: bad JSON from " + target);
  return v;
}

std::uint64_t id_of(const json::value& v) {
  return v.at("data").at("id").to_number<std::uint64_t>();
}

void throw_if_error(const json::value& v) {
  auto& o = v.as_object();
  if (o.at("janus").as_string() == "error")
    throw std::runtime_error("janus: " + json::serialize(o.at("error")));
}

}  // namespace

JanusClient::JanusClient(const std::string& base_url) {
  split_url(base_url, host_, port_, path_);
  if (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  next_tx_ = random_u64() >> 12;  // transactions unique across bots sharing a session pool
}

json::value JanusClient::post(const std::string& path, json::object body) {
  body["transaction"] = std::to_string(next_tx_++);
  return request(host_, port_, http::verb::post, path_ + path, json::serialize(body));
}

json::value JanusClient::get(const std::string& path) {
  return request(host_, port_, http::verb::get, path_ + path, {});
}

void JanusClient::create_session() {
  auto v = post("", json::object{{"janus", "create"}});
  throw_if_error(v);
  session_ = id_of(v);
}

std::uint64_t JanusClient::attach(const std::string& plugin) {
  auto v =
      post("/" + std::to_string(session_), json::object{{"janus", "attach"}, {"plugin", plugin}});
  throw_if_error(v);
  return id_of(v);
}

JanusEvent JanusClient::message(std::uint64_t handle, const json::object& body,
                                const json::value& jsep, double timeout_s) {
  json::object m{{"janus", "message"}, {"body", body}};
  if (!jsep.is_null()) m["jsep"] = jsep;
  std::string tx = std::to_string(next_tx_);
  auto v = post("/" + std::to_string(session_) + "/" + std::to_string(handle), std::move(m));
  throw_if_error(v);
  auto to_event = [](const json::object& o) {
    JanusEvent e;
    if (auto* pd = o.if_contains("plugindata")) e.data = pd->at("data").as_object();
    if (auto* j = o.if_contains("jsep")) e.jsep = *j;
    if (e.data.contains("error_code"))
      throw std::runtime_error("janus plugin: " + json::serialize(e.data));
    return e;
  };
  auto& o = v.as_object();
  if (o.at("janus").as_string() == "success") return to_event(o);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    auto evs = get("/" + std::to_string(session_) + "?maxev=10");
    json::array list;
    if (evs.is_array())
      list = evs.as_array();
    else
      list.push_back(evs);
    for (auto& ev : list) {
      auto& eo = ev.as_object();
      auto* t = eo.if_contains("transaction");
      if (eo.at("janus").as_string() == "event" && t && t->is_string() && t->as_string() == tx)
        return to_event(eo);
    }
  }
  throw std::runtime_error("janus: no answer to transaction " + tx);
}

void JanusClient::destroy_session() {
  if (!session_) return;
  post("/" + std::to_string(session_), json::object{{"janus", "destroy"}});
  session_ = 0;
}

}  // namespace hype::bot
