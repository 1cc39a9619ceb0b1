#include "netlab/impairment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hype::netlab {

double GilbertElliott::mean_loss() const {
  if (p <= 0) return loss_good;
  double bad = r <= 0 ? 1.0 : p / (p + r);
  return bad * loss_bad + (1 - bad) * loss_good;
}

std::optional<Impairment> named_profile(const std::string& name) {
  Impairment i;
  if (name == "clean") return i;
  if (name == "wifi") {
    i.delay_ms = 25;
    i.jitter_ms = 10;
    i.loss = 0.01;
    return i;
  }
  if (name == "mobile") {
    i.delay_ms = 50;
    i.jitter_ms = 20;
    i.loss = 0.02;
    return i;
  }
  if (name == "bursty") {
    // Mean burst 1/r = 3 packets; p / (p + r) = 0.05 gives p = 0.05 r / 0.95 = 0.01754.
    i.delay_ms = 50;
    i.jitter_ms = 20;
    i.gilbert_elliott = {0.0175438596, 1.0 / 3.0, 1.0, 0.0};
    return i;
  }
  return std::nullopt;
}

std::vector<std::string> profile_names() {
  return {"clean", "wifi", "mobile", "bursty"};
}

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

double number(const std::string& key, const std::string& v, double lo, double hi) {
  double x = 0;
  std::size_t used = 0;
  try {
    x = std::stod(v, &used);
  } catch (...) {
    used = 0;
  }
  if (used == 0 || used != v.size() || !std::isfinite(x) || x < lo || x > hi)
    throw std::invalid_argument(
        fmt::format("netlab: {}={}: expected a number in [{}, {}]", key, v, lo, hi));
  return x;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    auto j = s.find(sep, i);
    out.push_back(trim(s.substr(i, j == std::string::npos ? std::string::npos : j - i)));
    if (j == std::string::npos) return out;
    i = j + 1;
  }
}

}  // namespace

Impairment parse_impairment(const std::string& spec) {
  Impairment imp;
  auto parts = split(spec, ',');
  for (std::size_t n = 0; n < parts.size(); ++n) {
    const std::string& part = parts[n];
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      auto named = n == 0 ? named_profile(part) : std::nullopt;
      if (!named)
        throw std::invalid_argument(
            fmt::format("netlab: \"{}\": expected a profile ({}) first, then key=value", part,
                        fmt::join(profile_names(), ", ")));
      imp = *named;
      continue;
    }
    std::string k = trim(part.substr(0, eq)), v = trim(part.substr(eq + 1));
    if (k == "delay") {
      imp.delay_ms = number(k, v, 0, 60000);
    } else if (k == "jitter") {
      imp.jitter_ms = number(k, v, 0, 60000);
    } else if (k == "dist") {
      if (v == "uniform")
        imp.jitter_dist = JitterDist::kUniform;
      else if (v == "normal")
        imp.jitter_dist = JitterDist::kNormal;
      else
        throw std::invalid_argument("netlab: dist=" + v + ": expected uniform or normal");
    } else if (k == "reorder") {
      imp.reorder = number(k, v, 0, 1) != 0;
    } else if (k == "loss") {
      imp.loss = number(k, v, 0, 1);
    } else if (k == "ge") {
      auto f = split(v, ':');
      if (f.size() < 2 || f.size() > 4)
        throw std::invalid_argument("netlab: ge=" + v + ": expected p:r[:loss_bad[:loss_good]]");
      GilbertElliott g;
      g.p = number("ge.p", f[0], 0, 1);
      g.r = number("ge.r", f[1], 0, 1);
      if (f.size() > 2) g.loss_bad = number("ge.loss_bad", f[2], 0, 1);
      if (f.size() > 3) g.loss_good = number("ge.loss_good", f[3], 0, 1);
      if (g.p > 0 && g.r <= 0)
        throw std::invalid_argument("netlab: ge=" + v + ": r must be > 0 (else never leaves bad)");
      imp.gilbert_elliott = g;
    } else if (k == "rate") {
      imp.rate_kbps = number(k, v, 0, 100e6);
    } else if (k == "burst") {
      imp.burst_bytes = static_cast<int>(number(k, v, 1, 1 << 30));
    } else if (k == "queue") {
      imp.queue_packets = static_cast<int>(number(k, v, 1, 1 << 20));
    } else {
      throw std::invalid_argument("netlab: unknown key \"" + k +
                                  "\" (delay jitter dist reorder loss ge rate burst queue)");
    }
  }
  return imp;
}

std::string describe(const Impairment& i) {
  const auto& g = i.gilbert_elliott;
  return fmt::format(
      "delay={},jitter={},dist={},reorder={},loss={},ge={}:{}:{}:{},rate={},burst={},queue={}",
      i.delay_ms, i.jitter_ms, i.jitter_dist == JitterDist::kNormal ? "normal" : "uniform",
      i.reorder ? 1 : 0, i.loss, g.p, g.r, g.loss_bad, g.loss_good, i.rate_kbps, i.burst_bytes,
      i.queue_packets);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 0;
  while (u1 <= 0) u1 = uniform();
  double u2 = uniform();
  double m = std::sqrt(-2.0 * std::log(u1));
  spare_ = m * std::sin(2 * M_PI * u2);
  has_spare_ = true;
  return m * std::cos(2 * M_PI * u2);
}

Link::Link(const Impairment& imp, std::uint64_t seed) : rng_(seed) {
  set_impairment(imp);
  tokens_ = imp_.burst_bytes;
}

void Link::set_impairment(const Impairment& imp) {
  std::size_t cap = static_cast<std::size_t>(std::max(1, imp.queue_packets));
  if (cap != queue_.size()) {
    // Keep the newest departures that fit: the bottleneck does not forget what it holds.
    std::vector<std::int64_t> q(cap);
    std::size_t keep = std::min(q_size_, cap);
    for (std::size_t k = 0; k < keep; ++k)
      q[k] = queue_[(q_head_ + q_size_ - keep + k) % queue_.size()];
    queue_ = std::move(q);
    q_head_ = 0;
    q_size_ = keep;
  }
  imp_ = imp;
  imp_.queue_packets = static_cast<int>(cap);
  bad_ = false;
}

Verdict Link::decide(std::int64_t now_us, std::size_t bytes) {
  // 1. Loss: the Markov state moves on every packet, lost or not.
  const auto& g = imp_.gilbert_elliott;
  if (g.enabled()) {
    if (bad_) {
      if (rng_.uniform() < g.r) bad_ = false;
    } else if (rng_.uniform() < g.p) {
      bad_ = true;
    }
    double l = bad_ ? g.loss_bad : g.loss_good;
    if (l > 0 && rng_.uniform() < l) return {Fate::kLost, 0};
  }
  if (imp_.loss > 0 && rng_.uniform() < imp_.loss) return {Fate::kLost, 0};

  // 2. Bottleneck: a token bucket drains a FIFO of at most queue_packets (tail drop).
  std::int64_t t = now_us;
  if (imp_.rate_kbps > 0) {
    while (q_size_ > 0 && queue_[q_head_] <= now_us) {
      q_head_ = (q_head_ + 1) % queue_.size();
      --q_size_;
    }
    if (q_size_ >= queue_.size()) return {Fate::kQueueFull, 0};
    double bytes_per_us = imp_.rate_kbps / 8000.0;
    std::int64_t start = std::max(now_us, link_free_us_);
    double depth = std::max<double>(imp_.burst_bytes, static_cast<double>(bytes));
    double tokens =
        std::min(depth, tokens_ + static_cast<double>(start - tokens_at_us_) * bytes_per_us);
    if (tokens < static_cast<double>(bytes)) {
      start += static_cast<std::int64_t>(
          std::ceil((static_cast<double>(bytes) - tokens) / bytes_per_us));
      tokens = static_cast<double>(bytes);
    }
    tokens_ = tokens - static_cast<double>(bytes);
    tokens_at_us_ = start;
    link_free_us_ = start;
    queue_[(q_head_ + q_size_) % queue_.size()] = start;
    ++q_size_;
    t = start;
  }

  // 3. Propagation delay and jitter.
  double d = imp_.delay_ms * 1000.0;
  if (imp_.jitter_ms > 0) {
    double j = imp_.jitter_ms * 1000.0;
    if (imp_.jitter_dist == JitterDist::kUniform)
      d += (2 * rng_.uniform() - 1) * j;
    else
      d += std::clamp(rng_.normal(), -3.0, 3.0) * j;
  }
  std::int64_t release = t + static_cast<std::int64_t>(std::max(0.0, d));
  if (!imp_.reorder) release = std::max(release, last_release_us_);
  last_release_us_ = std::max(last_release_us_, release);
  return {Fate::kRelease, release};
}

}  // namespace hype::netlab
