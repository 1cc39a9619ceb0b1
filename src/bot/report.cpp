// hype-bot's report (report.hpp): sums and distributions over every bot.
#include "bot/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "bot/video.hpp"

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

// Most PLI/FIR arrivals within any one second [t, t + 1 s).
std::size_t max_per_second(const std::vector<std::int64_t>& t) {
  std::size_t best = 0;
  for (std::size_t i = 0, j = 0; j < t.size(); ++j) {
    while (t[j] - t[i] >= 1'000'000) ++i;
    best = std::max(best, j - i + 1);
  }
  return best;
}

// The shortest gap between two PLI/FIR arrivals in ms (-1 with fewer than two).
double min_interval_ms(const std::vector<std::int64_t>& t) {
  std::int64_t best = -1;
  for (std::size_t i = 1; i < t.size(); ++i)
    if (best < 0 || t[i] - t[i - 1] < best) best = t[i] - t[i - 1];
  return best < 0 ? -1.0 : static_cast<double>(best) / 1000.0;
}

// The `video` object (--stream/--watch); `ok` when the publisher sent frames and every
// watcher got some.
json::object video_report(const Bots& bots, bool& ok) {
  json::object v;
  json::value pub = nullptr;
  json::array per_watcher;
  std::uint64_t frames = 0, keyframes = 0, bytes = 0, packets = 0, lost = 0, nacks = 0, nacked = 0,
                rtx = 0, plis = 0, freezes = 0, dups = 0;
  std::int64_t freeze_us = 0;
  int watchers = 0, with_frames = 0;
  std::vector<std::int64_t> first, latency;
  std::int64_t warmup_latency_max = 0;
  std::uint64_t unstamped = 0;
  for (auto& b : bots) {
    if (auto* p = b->vpub.get()) {
      const std::int64_t end = p->stopped_us >= 0 ? p->stopped_us : now_us();
      const double secs = p->started_us >= 0 ? static_cast<double>(end - p->started_us) / 1e6 : 0;
      const VideoClip& c = *p->clip;
      pub = json::object{
          {"user_id", b->user_id},
          {"clip", json::object{{"path", c.path},
                                {"width", c.header.width},
                                {"height", c.header.height},
                                {"fps", c.fps},
                                {"frames", c.frames.size()},
                                {"keyframes", c.keyframes}}},
          {"stream_seconds", secs},
          {"frames_sent", p->frames_sent},
          {"keyframes_sent", p->keyframes_sent},
          {"packets_sent", p->packets_sent},
          {"bytes_sent", p->bytes_sent},
          {"packets_dropped", p->packets_dropped},
          {"plis_received", p->plis_received},
          {"firs_received", p->firs_received},
          {"keyframe_requests_max_per_s", max_per_second(p->keyframe_requests_us)},
          {"keyframe_request_min_interval_ms", min_interval_ms(p->keyframe_requests_us)},
          {"keyframe_jumps", p->keyframe_jumps},
          {"nacks_received", p->nacks_received},
          {"nacked_packets", p->nacked_packets},
          {"rtx_sent", p->rtx_sent},
          {"rtx_unavailable", p->rtx_unavailable},
          {"loops", p->loops},
          {"pace_mbps", p->pace_bytes_per_us * 8},
          {"pace_queue_max", p->pace_queue_max},
          {"stream_error", p->stream_error}};
      if (p->frames_sent == 0) ok = false;
    }
    if (auto* r = b->vrx.get()) {
      ++watchers;
      with_frames += r->frames > 0;
      if (r->frames == 0) ok = false;
      const std::uint64_t open_lost = r->missing.size();  // gaps never filled
      double ff = -1;
      if (r->first_frame_us >= 0 && r->watch_sent_us >= 0) {
        first.push_back(r->first_frame_us - r->watch_sent_us);
        ff = static_cast<double>(first.back()) / 1000.0;
      }
      json::array errs;
      for (auto& e : r->errors) errs.push_back(json::value(e));
      per_watcher.push_back(json::object{{"user_id", b->user_id},
                                         {"watching", r->watching},
                                         {"frames", r->frames},
                                         {"keyframes", r->keyframes},
                                         {"bytes", r->bytes},
                                         {"packets", r->packets},
                                         {"packets_lost", r->packets_lost + open_lost},
                                         {"nacks_sent", r->nacks_sent},
                                         {"nacked_packets", r->nacked_packets},
                                         {"rtx_received", r->rtx_received},
                                         {"plis_sent", r->plis_sent},
                                         {"packets_ignored", r->ignored},
                                         {"freezes", r->freezes},
                                         {"freeze_ms", static_cast<double>(r->freeze_us) / 1000.0},
                                         {"first_frame_ms", ff},
                                         {"errors", std::move(errs)}});
      frames += r->frames;
      keyframes += r->keyframes;
      bytes += r->bytes;
      packets += r->packets;
      lost += r->packets_lost + open_lost;
      nacks += r->nacks_sent;
      nacked += r->nacked_packets;
      rtx += r->rtx_received;
      plis += r->plis_sent;
      freezes += r->freezes;
      freeze_us += r->freeze_us;
      dups += r->duplicates;
      latency.insert(latency.end(), r->latency_us.begin(), r->latency_us.end());
      warmup_latency_max = std::max(warmup_latency_max, r->warmup_latency_max_us);
      unstamped += r->unstamped;
    }
  }
  std::vector<std::int64_t> sorted = first;
  v["publisher"] = std::move(pub);
  v["watchers"] = watchers;
  v["watchers_with_frames"] = with_frames;
  v["frames"] = frames;
  v["keyframes"] = keyframes;
  v["bytes"] = bytes;
  v["packets"] = packets;
  v["packets_lost"] = lost;
  v["nacks_sent"] = nacks;
  v["nacked_packets"] = nacked;
  v["rtx_received"] = rtx;
  v["duplicates"] = dups;
  v["plis_sent"] = plis;
  v["freezes"] = freezes;
  v["freeze_ms"] = static_cast<double>(freeze_us) / 1000.0;
  v["first_frame_ms_p50"] = percentile(sorted, 0.5) / 1000.0;
  v["first_frame_ms_p99"] = percentile(sorted, 0.99) / 1000.0;
  v["first_frame_ms_max"] = sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1000.0;
  // Send stamp (RTP padding) to kernel arrival, per media packet, after --warmup.
  v["latency_samples"] = latency.size();
  v["latency_ms_p50"] = percentile(latency, 0.5) / 1000.0;
  v["latency_ms_p99"] = percentile(latency, 0.99) / 1000.0;
  v["latency_ms_max"] = latency.empty() ? 0.0 : static_cast<double>(latency.back()) / 1000.0;
  v["warmup_latency_ms_max"] = static_cast<double>(warmup_latency_max) / 1000.0;
  v["packets_unstamped"] = unstamped;
  v["per_watcher"] = std::move(per_watcher);
  return v;
}

}  // namespace

Report voice_report(const Bots& bots, const Options& o, const std::string& channel_id,
                    const MediaWindow& window) {
  std::uint64_t sent = 0, received = 0, expected = 0, reports_sent = 0, reports_refused = 0;
  std::vector<std::int64_t> lat, join, connect, gaps;
  int reconnects = 0, moves = 0;
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
    // The longest audio gap from any publisher this bot heard: between two packets, or from
    // the last one to the end of the window (audio that never came back).
    std::int64_t gap = 0;
    for (auto& [sender, last] : b->last_from_sender) {
      gap = std::max(gap, window.end_us - last);
      if (auto g = b->max_gap_from_sender.find(sender); g != b->max_gap_from_sender.end())
        gap = std::max(gap, g->second);
    }
    if (!b->last_from_sender.empty()) gaps.push_back(gap);
    // [start, length] in ms from the media start: per publisher, so one outage may be listed
    // once per publisher heard.
    json::array gap_list;
    for (auto& [at, len] : b->gap_events)
      gap_list.push_back(json::array{static_cast<double>(at - window.start_us) / 1000.0,
                                     static_cast<double>(len) / 1000.0});
    for (auto& [sender, last] : b->last_from_sender)
      if (window.end_us - last > Bot::kGapEventUs)
        gap_list.push_back(json::array{static_cast<double>(last - window.start_us) / 1000.0,
                                       static_cast<double>(window.end_us - last) / 1000.0});
    reconnects += b->reconnects;
    moves += b->moves;
    int should = o.speakers - (b->speaker ? 1 : 0);
    if (b->audio_slots > 0) should = std::min(should, static_cast<int>(b->audio_slots));
    if (static_cast<int>(heard.size()) >= should) ++heard_all;
    per_bot.push_back(json::object{{"user_id", b->user_id},
                                   {"channel", b->group},
                                   {"speaker", b->speaker},
                                   {"audio_slots", b->audio_slots},
                                   {"streams", streams},
                                   {"heard", std::move(heard)},
                                   {"heard_at_end", std::move(heard_at_end)},
                                   {"max_gap_ms", static_cast<double>(gap) / 1000.0},
                                   {"gaps", std::move(gap_list)},
                                   {"reconnects", b->reconnects},
                                   {"moves", b->moves},
                                   {"node", b->node}});
    lat.insert(lat.end(), b->latency_us.begin(), b->latency_us.end());
    warmup_max = std::max(warmup_max, b->warmup_max_us);
    connected += b->join_done_us > 0;
    // Connect time: the start of the join (/voice/join, the user's click) to DTLS connected;
    // join time: to the first remote audio packet.
    if (b->join_done_us > 0) connect.push_back(b->join_done_us - b->join_start_us);
    if (b->first_rx_us > 0) join.push_back(b->first_rx_us - b->join_start_us);
    reports_sent += b->reports_sent;
    reports_refused += b->reports_refused.load();
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
                      {"reconnects", reconnects},
                      {"moves", moves},
                      {"signaled", g_signaled.load()},
                      {"quality_reports_sent", reports_sent},
                      {"quality_reports_refused", reports_refused},
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
  // Each bot's longest audio gap (ms): a failover's or a drain's cost, per listener.
  json::array gap_ms;
  for (auto v : gaps) gap_ms.push_back(static_cast<double>(v) / 1000.0);
  report["gap_ms"] = std::move(gap_ms);
  report["gap_ms_p50"] = percentile(gaps, 0.5) / 1000.0;
  report["gap_ms_p99"] = percentile(gaps, 0.99) / 1000.0;
  report["gap_ms_max"] = gaps.empty() ? 0.0 : static_cast<double>(gaps.back()) / 1000.0;
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
  bool video_ok = true;
  if (o.video) report["video"] = video_report(bots, video_ok);
  return {std::move(report), heard_all == o.total && connected == o.total && video_ok};
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
