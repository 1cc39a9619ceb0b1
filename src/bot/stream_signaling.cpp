// hype-bot's stream connection (video.hpp): the REST voice join (for the voice token; a
// stream connection needs a voice state, not a voice connection), POST /voice/stream for a
// publisher, then /voice with identify kind "stream", the bot's offer, server offers
// (answered like on a voice connection), and for a watcher `watch` once its transport is up
// and the stream it wants is live.
#include <sys/resource.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "bot/bot.hpp"
#include "bot/media.hpp"
#include "bot/video.hpp"
#include "rtc/sdp/sdp.hpp"

namespace json = boost::json;

namespace hype::bot {

namespace {

// Sends `watch` when the bot's transport is up and its target streams. Called on every
// signaling frame and after the answer; idempotent.
void maybe_watch(Bot& b, const std::vector<std::string>& live) {
  std::string user;
  {
    std::lock_guard lock(b.mu);
    VideoReceiver& r = *b.vrx;
    if (!r.watching.empty() || !b.link.srtp) return;
    for (auto& u : live)
      if ((r.target == "any" && u != b.user_id) || u == r.target) {
        user = u;
        break;
      }
    if (user.empty()) return;
    r.watching = user;
    r.watch_sent_us = now_us();
  }
  b.ws->send(json::object{{"op", "watch"}, {"d", json::object{{"user_id", user}}}});
}

}  // namespace

void run_stream_signaling(Bot& b, const std::shared_ptr<rtc::DtlsContext>& ctx,
                          std::atomic<bool>& stop, double connect_timeout) {
  ::setpriority(PRIO_PROCESS, 0, 10);  // below the media thread, as run_signaling
  const bool publisher = b.vpub != nullptr;
  try {
    b.join_start_us = now_us();
    auto j = b.rest->call("POST", "/voice/join/" + b.channel, json::object{}, b.token);
    if (j.status != 200) throw std::runtime_error("voice join: HTTP " + std::to_string(j.status));
    {
      std::lock_guard lock(b.mu);
      b.joined = true;
    }
    if (publisher) {
      auto s = b.rest->call("POST", "/voice/stream/" + b.channel, json::object{}, b.token);
      if (s.status != 200)
        throw std::runtime_error("go live: HTTP " + std::to_string(s.status) + " " +
                                 json::serialize(s.body));
    }
    auto& jo = j.body.as_object();
    if (!jo.at("sfu").is_object()) throw std::runtime_error("no SFU node for this channel");
    std::string url(jo.at("sfu").at("url").as_string()), host, port, path;
    split_url(url, host, port, path);
    b.ws->connect(host, port, path);
    b.ws->send(json::object{{"op", "identify"},
                            {"d", json::object{{"token", jo.at("voice_token")},
                                               {"channel_id", b.channel},
                                               {"kind", "stream"}}}});
    std::vector<std::string> live;  // users streaming now, from the latest `streams` event
    for (;;) {
      auto f = b.ws->receive();
      auto& fo = f.as_object();
      std::string op(fo.at("op").as_string());
      if (op == "ready") {
        std::lock_guard lock(b.mu);
        const auto& cert = ctx->certificate();
        b.ws->send(
            json::object{{"op", "offer"},
                         {"d", json::object{{"sdp", publisher ? publisher_offer_sdp(b, cert)
                                                              : watcher_offer_sdp(b, cert)}}}});
      } else if (op == "answer") {
        auto sd = rtc::sdp::parse(std::string(fo.at("d").at("sdp").as_string()));
        if (!sd || sd->media.empty()) throw std::runtime_error("bad answer");
        if (publisher && (sd->media.front().rejected()))
          throw std::runtime_error("the SFU rejected the stream's video section");
        connect_media(b, sd->media.front(), ctx, rtc::DtlsRole::kClient);
        if (!publisher) {
          // The SFU's `connected` comes too; this also covers a server that does not send it.
          const auto until = now_us() + static_cast<std::int64_t>(connect_timeout * 1e6);
          while (!stop.load() && now_us() < until) {
            if (std::lock_guard l(b.mu); b.link.srtp) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }
      } else if (op == "offer") {
        auto& d = fo.at("d").as_object();
        {
          std::lock_guard lock(b.mu);
          for (auto& sv : d.at("streams").as_array()) {
            auto& s = sv.as_object();
            auto ssrc = static_cast<std::uint32_t>(s.at("ssrc").to_number<std::uint64_t>());
            if (auto* u = s.if_contains("user_id"); u && u->is_string())
              b.ssrc_user[ssrc] = std::string(u->as_string());
          }
        }
        b.ws->send(
            json::object{{"op", "answer"},
                         {"d", json::object{{"sdp", answer_sdp(std::string(d.at("sdp").as_string()),
                                                               b, ctx->certificate())},
                                            {"version", d.at("version")}}}});
      } else if (op == "streams") {
        live.clear();
        for (auto& sv : fo.at("d").at("streams").as_array())
          live.emplace_back(sv.at("user_id").as_string());
      } else if (op == "error") {
        std::string code(fo.at("d").at("code").as_string());
        std::lock_guard lock(b.mu);
        if (publisher) {
          b.vpub->stream_error = code;  // stream_denied, stream_ended: the stream stops
        } else {
          b.vrx->errors.push_back(code);
          // not_streaming: the stream ended or is not live yet; watch again when it is.
          if (code == "not_streaming") b.vrx->watching.clear();
        }
      }
      if (!publisher && (op == "streams" || op == "connected" || op == "answer"))
        maybe_watch(b, live);
    }
  } catch (const std::exception& e) {
    if (!stop.load()) {
      std::lock_guard lock(b.mu);
      b.error = e.what();
    }
  }
  b.signaling_done = true;
}

}  // namespace hype::bot
