// hype-bot's report (report.hpp): sums and distributions over every bot.
#include "bot/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace json = boost::json;

namespace hype::bot {

namespace {

double percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = std::min(
      v.size() - 1, static_cast<std::size_t>(std::lround(p * static_cast<double>(v.size() - 1))));
  return static_cast<double>(v[i]);
}

}  // namespace

Report voice_report(const Bots& bots, const Options& o, const std::string& channel_id,
                    const MediaWindow& window) {
  std::uint64_t sent = 0, received = 0, expected = 0;
  std::vector<std::int64_t> lat, join, connect;
  std::int64_t warmup_max = 0;
  int heard_all = 0, connected = 0;
  std::size_t max_streams = 0;
  json::array errors, per_bot;
  std::map<std::string, std::uint64_t> from_user;  // publisher user id -> packets all bots got
  std::map<std::string, int> hearing_user;         // publisher user id -> bots that got any
  for (auto& b : bots) {
    sent += b->sent_in_window;
    if (b->pub_only) continue;
    std::size_t streams = 0;
    for (auto& [ssrc, s] : b->streams) {
      received += s.received;
      expected += static_cast<std::uint64_t>(s.highest - s.first + 1);
      streams += s.received > 0;
    }
    max_streams = std::max(max_streams, streams);
    // "Heard" = distinct users received; with last-N at most one per audio slot at a time.
    json::array heard, heard_at_end;
    for (auto& [user, n] : b->from_user) {
      from_user[user] += n;
      ++hearing_user[user];
      heard.push_back(json::value(user));
      if (b->last_from_user[user] >= window.end_us - 1'000'000)
        heard_at_end.push_back(json::value(user));
    }
    int should = o.speakers - (b->speaker ? 1 : 0);
    if (b->audio_slots > 0) should = std::min(should, static_cast<int>(b->audio_slots));
    if (static_cast<int>(heard.size()) >= should) ++heard_all;
    per_bot.push_back(json::object{{"user_id", b->user_id},
                                   {"audio_slots", b->audio_slots},
                                   {"streams", streams},
                                   {"heard", std::move(heard)},
                                   {"heard_at_end", std::move(heard_at_end)}});
    lat.insert(lat.end(), b->latency_us.begin(), b->latency_us.end());
    warmup_max = std::max(warmup_max, b->warmup_max_us);
    connected += b->join_done_us > 0;
    // Connect time: the start of the join (/voice/join, the user's click) to DTLS connected;
    // join time: to the first remote audio packet.
    if (b->join_done_us > 0) connect.push_back(b->join_done_us - b->join_start_us);
    if (b->first_rx_us > 0) join.push_back(b->first_rx_us - b->join_start_us);
    if (!b->error.empty()) errors.push_back(json::value(b->error));
  }
  double loss = expected ? 100.0 * static_cast<double>(expected - std::min(expected, received)) /
                               static_cast<double>(expected)
                         : 100.0;
  json::object report{{"target", o.target},
                      {"bots", o.total},
                      {"channels", o.channels},
                      {"speakers", o.speakers},
                      {"channel_id", channel_id},
                      {"connected", connected},
                      {"bots_hearing_every_speaker", heard_all},
                      {"packets_sent", sent},
                      {"packets_received", received},
                      {"packets_expected", expected},
                      {"loss_pct", loss},
                      {"latency_ms_p50", percentile(lat, 0.5) / 1000.0},
                      {"latency_ms_p99", percentile(lat, 0.99) / 1000.0},
                      {"join_ms_p50", percentile(join, 0.5) / 1000.0},
                      {"join_ms_p99", percentile(join, 0.99) / 1000.0},
                      {"connect_ms_p50", percentile(connect, 0.5) / 1000.0},
                      {"connect_ms_p99", percentile(connect, 0.99) / 1000.0},
                      {"max_streams_per_bot", max_streams},
                      {"signaled", g_signaled.load()},
                      {"errors", std::move(errors)}};
  // Raw distributions for bench/voice, which merges several bot processes: latency in 10 us
  // buckets (sparse, "bucket": count), join and connect times in ms.
  json::object hist;
  for (auto& v : lat) {
    auto& c = hist[std::to_string(std::max<std::int64_t>(0, v) / 10)];
    c = c.is_null() ? 1 : c.to_number<std::int64_t>() + 1;
  }
  report["latency_hist_10us"] = std::move(hist);
  report["warmup_latency_ms_max"] = static_cast<double>(warmup_max) / 1000.0;
  json::array joins, connects;
  for (auto v : join) joins.push_back(static_cast<double>(v) / 1000.0);
  for (auto v : connect) connects.push_back(static_cast<double>(v) / 1000.0);
  report["join_ms"] = std::move(joins);
  report["connect_ms"] = std::move(connects);
  json::object by_sender;
  for (auto& [user, n] : from_user) by_sender[user] = n;
  report["packets_received_by_sender"] = std::move(by_sender);
  json::object hearing;
  for (auto& [user, n] : hearing_user) hearing[user] = n;
  report["bots_hearing_sender"] = std::move(hearing);
  json::array ids;
  for (auto& b : bots)
    if (!b->pub_only) ids.push_back(json::value(b->user_id));
  report["bot_user_ids"] = std::move(ids);
  report["per_bot"] = std::move(per_bot);
  return {std::move(report), heard_all == o.total && connected == o.total};
}

Report hold_report(const Bots& bots, const std::string& channel_id, HoldResult h) {
  int left = 0;
  json::array ids;
  for (auto& b : bots) {
    ids.push_back(json::value(b->user_id));
    if (!b->joined) ++left;
  }
  json::object report{{"mode", "hold"},
                      {"bots", static_cast<std::int64_t>(bots.size())},
                      {"channel_id", channel_id},
                      {"held", h.held},
                      {"left", left - (static_cast<int>(bots.size()) - h.held)},
                      {"signaled", g_signaled.load()},
                      {"errors", std::move(h.errors)},
                      {"bot_user_ids", std::move(ids)}};
  return {std::move(report), h.held == static_cast<int>(bots.size())};
}

void print_report(const json::object& report, bool as_json) {
  if (as_json) {
    std::printf("%s\n", json::serialize(report).c_str());
  } else {
    for (auto& [k, v] : report) std::printf("%-28s %s\n", k.data(), json::serialize(v).c_str());
  }
  std::fflush(stdout);
}

}  // namespace hype::bot
