#include "netlab/relay.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace hype::netlab {

namespace {

constexpr std::size_t kSlotBytes = 2048;
constexpr std::uint64_t kTagListen = 0, kTagSignal = 1, kTagRelease = 2, kTagTick = 3,
                        kTagFlow = 16;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    std::memcpy(&s->sin_addr, a.ip.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(a.port);
  std::memcpy(&s->sin6_addr, a.ip.data(), 16);
  return sizeof(sockaddr_in6);
}

SocketAddress from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    return SocketAddress::v4(ntohl(s->sin_addr.s_addr), ntohs(s->sin_port));
  }
  const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
  std::array<std::uint8_t, 16> ip{};
  std::memcpy(ip.data(), &s->sin6_addr, 16);
  return SocketAddress::v6(ip, ntohs(s->sin6_port));
}

int udp_socket(const SocketAddress& a) {
  int fd = ::socket(a.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("netlab: socket");
  int buf = 4 << 20;  // absorb bursts: the kernel caps it at rmem_max/wmem_max
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  return fd;
}

void arm_abs(int tfd, std::int64_t at_us) {
  itimerspec its{};
  at_us = std::max<std::int64_t>(at_us, 1);
  its.it_value.tv_sec = at_us / 1000000;
  its.it_value.tv_nsec = (at_us % 1000000) * 1000;
  ::timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr);
}

void append_dir(std::string& s, const char* name, const DirectionStats& d) {
  s += fmt::format(
      "\"{}\":{{\"in\":{},\"out\":{},\"dropped\":{},\"lost\":{},\"queue_full\":{},"
      "\"pool_full\":{},\"send_errors\":{},\"bytes_in\":{},\"bytes_out\":{}}}",
      name, d.in, d.out, d.dropped(), d.lost, d.queue_full, d.pool_full, d.send_errors, d.bytes_in,
      d.bytes_out);
}

}  // namespace

struct Relay::Impl {
  struct Flow {
    bool used = false;
    std::uint32_t gen = 0;
    SocketAddress client;
    int fd = -1;
    std::int64_t last_seen_us = 0;
    std::unique_ptr<ScheduledLink> up, down;
  };
  struct Pending {
    std::int64_t release_us;
    std::uint64_t seq;  // FIFO among equal release times
    std::uint32_t slot;
    bool operator>(const Pending& other) const {
      return release_us != other.release_us ? release_us > other.release_us : seq > other.seq;
    }
  };
  struct SlotMeta {
    std::uint32_t flow = 0, gen = 0;
    std::uint16_t len = 0;
    bool down = false;
  };

  RelayOptions o;
  int listen_fd = -1, epoll_fd = -1, signal_fd = -1, release_fd = -1, tick_fd = -1;
  std::uint16_t bound_port = 0;
  std::int64_t start_us = 0;
  std::uint64_t flows_created = 0, seq = 0;
  std::vector<Flow> flows;
  std::vector<std::uint32_t> free_flows;
  std::unordered_map<SocketAddress, std::uint32_t, SocketAddressHash> by_client;
  std::unique_ptr<char[]> slots;  // not zeroed: pages are touched only when used
  std::vector<SlotMeta> meta;
  std::vector<std::uint32_t> free_slots;
  std::vector<Pending> heap;
  std::int64_t armed_us = -1;
  DirectionStats up_stats, down_stats;
  std::uint64_t flows_refused = 0;
  char scratch[kSlotBytes];

  explicit Impl(RelayOptions opts) : o(std::move(opts)) {
    start_us = steady_us();
    listen_fd = udp_socket(o.listen);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(o.listen, ss);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) fail("netlab: bind");
    len = sizeof ss;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len);
    bound_port = from_sockaddr(ss).port;
    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    release_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    tick_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_fd < 0 || release_fd < 0 || tick_fd < 0) fail("netlab: epoll/timerfd");
    add(listen_fd, kTagListen);
    add(release_fd, kTagRelease);
    add(tick_fd, kTagTick);
    flows.resize(o.max_flows);
    for (std::size_t i = o.max_flows; i-- > 0;) free_flows.push_back(static_cast<std::uint32_t>(i));
    by_client.reserve(o.max_flows * 2);
    slots.reset(new char[o.packet_slots * kSlotBytes]);
    meta.resize(o.packet_slots);
    for (std::size_t i = o.packet_slots; i-- > 0;)
      free_slots.push_back(static_cast<std::uint32_t>(i));
    heap.reserve(o.packet_slots);
  }

  ~Impl() {
    for (auto& f : flows)
      if (f.fd >= 0) ::close(f.fd);
    for (int fd : {listen_fd, epoll_fd, signal_fd, release_fd, tick_fd})
      if (fd >= 0) ::close(fd);
  }

  void add(int fd, std::uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) fail("netlab: epoll_ctl");
  }

  Flow* flow_for(const SocketAddress& client, std::int64_t now) {
    if (auto it = by_client.find(client); it != by_client.end()) return &flows[it->second];
    if (free_flows.empty()) {
      ++flows_refused;
      return nullptr;
    }
    std::uint32_t i = free_flows.back();
    int fd = udp_socket(o.upstream);
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(o.upstream, ss);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      ::close(fd);
      ++flows_refused;
      return nullptr;
    }
    free_flows.pop_back();
    Flow& f = flows[i];
    f.used = true;
    ++f.gen;
    f.client = client;
    f.fd = fd;
    f.last_seen_us = now;
    std::uint64_t s = o.seed * 0x9E3779B97F4A7C15ull + 2 * flows_created++;
    f.up = std::make_unique<ScheduledLink>(o.up, o.schedule.up, s, start_us);
    f.down = std::make_unique<ScheduledLink>(o.down, o.schedule.down, s + 1, start_us);
    by_client.emplace(client, i);
    add(fd, kTagFlow + i);
    return &f;
  }

  void close_flow(std::uint32_t i) {
    Flow& f = flows[i];
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, f.fd, nullptr);
    ::close(f.fd);
    by_client.erase(f.client);
    f.fd = -1;
    f.used = false;
    f.up.reset();
    f.down.reset();
    free_flows.push_back(i);  // packets still pending for it see a new gen and are dropped
  }

  // Decides one packet already copied into `slot` (or in scratch when slot is -1).
  void admit(std::uint32_t flow, bool down, std::int64_t slot, std::size_t len, std::int64_t now) {
    DirectionStats& st = down ? down_stats : up_stats;
    ++st.in;
    st.bytes_in += len;
    if (slot < 0) {
      ++st.pool_full;
      return;
    }
    Flow& f = flows[flow];
    Verdict v = (down ? f.down : f.up)->decide(now, len);
    if (v.fate != Fate::kRelease) {
      ++(v.fate == Fate::kLost ? st.lost : st.queue_full);
      free_slots.push_back(static_cast<std::uint32_t>(slot));
      return;
    }
    auto s = static_cast<std::uint32_t>(slot);
    meta[s] = {flow, f.gen, static_cast<std::uint16_t>(len), down};
    heap.push_back({v.release_us, seq++, s});
    std::push_heap(heap.begin(), heap.end(), std::greater<>());
  }

  std::int64_t take_slot() {
    if (free_slots.empty()) return -1;
    std::uint32_t s = free_slots.back();
    free_slots.pop_back();
    return s;
  }

  void read_listen(std::int64_t now) {
    for (int n = 0; n < 256; ++n) {
      std::int64_t slot = take_slot();
      char* buf = slot < 0 ? scratch : &slots[static_cast<std::size_t>(slot) * kSlotBytes];
      sockaddr_storage ss;
      socklen_t sl = sizeof ss;
      ssize_t r =
          ::recvfrom(listen_fd, buf, kSlotBytes, MSG_TRUNC, reinterpret_cast<sockaddr*>(&ss), &sl);
      if (r < 0 || static_cast<std::size_t>(r) > kSlotBytes) {
        if (slot >= 0) free_slots.push_back(static_cast<std::uint32_t>(slot));
        if (r < 0) return;
        ++up_stats.in;
        ++up_stats.pool_full;  // larger than a slot: not a media packet we relay
        continue;
      }
      Flow* f = flow_for(from_sockaddr(ss), now);
      if (!f) {
        if (slot >= 0) free_slots.push_back(static_cast<std::uint32_t>(slot));
        ++up_stats.in;
        ++up_stats.send_errors;
        continue;
      }
      f->last_seen_us = now;
      admit(static_cast<std::uint32_t>(f - flows.data()), false, slot, static_cast<std::size_t>(r),
            now);
    }
  }

  void read_flow(std::uint32_t i, std::int64_t now) {
    for (int n = 0; n < 256 && flows[i].used; ++n) {
      std::int64_t slot = take_slot();
      char* buf = slot < 0 ? scratch : &slots[static_cast<std::size_t>(slot) * kSlotBytes];
      ssize_t r = ::recv(flows[i].fd, buf, kSlotBytes, MSG_TRUNC);
      if (r < 0 || static_cast<std::size_t>(r) > kSlotBytes) {
        if (slot >= 0) free_slots.push_back(static_cast<std::uint32_t>(slot));
        if (r < 0) return;  // EAGAIN, or ECONNREFUSED while the upstream is not up
        ++down_stats.in;
        ++down_stats.pool_full;
        continue;
      }
      admit(i, true, slot, static_cast<std::size_t>(r), now);
    }
  }

  void release_due(std::int64_t now) {
    while (!heap.empty() && heap.front().release_us <= now) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>());
      Pending p = heap.back();
      heap.pop_back();
      const SlotMeta& m = meta[p.slot];
      DirectionStats& st = m.down ? down_stats : up_stats;
      Flow& f = flows[m.flow];
      const char* data = &slots[static_cast<std::size_t>(p.slot) * kSlotBytes];
      ssize_t r = -1;
      if (f.used && f.gen == m.gen) {
        if (m.down) {
          sockaddr_storage ss;
          socklen_t sl = to_sockaddr(f.client, ss);
          r = ::sendto(listen_fd, data, m.len, 0, reinterpret_cast<sockaddr*>(&ss), sl);
        } else {
          r = ::send(f.fd, data, m.len, 0);
        }
      }
      if (r == static_cast<ssize_t>(m.len)) {
        ++st.out;
        st.bytes_out += m.len;
      } else {
        ++st.send_errors;
      }
      free_slots.push_back(p.slot);
    }
    std::int64_t next = heap.empty() ? -1 : heap.front().release_us;
    if (next != armed_us) {
      if (next < 0) {
        itimerspec off{};
        ::timerfd_settime(release_fd, 0, &off, nullptr);
      } else {
        arm_abs(release_fd, next);
      }
      armed_us = next;
    }
  }

  void expire_flows(std::int64_t now) {
    for (std::uint32_t i = 0; i < flows.size(); ++i)
      if (flows[i].used && now - flows[i].last_seen_us > std::int64_t{o.flow_idle_s} * 1000000)
        close_flow(i);
  }
};

Relay::Relay(RelayOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Relay::~Relay() = default;

std::uint16_t Relay::port() const {
  return impl_->bound_port;
}

std::string Relay::stats_json(const char* event) const {
  const Impl& m = *impl_;
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double user = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  double sys = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  double elapsed = static_cast<double>(steady_us() - m.start_us) / 1e6;
  std::uint64_t packets = m.up_stats.in + m.down_stats.in;
  std::size_t flows = m.by_client.size();
  std::string s =
      fmt::format("{{\"event\":\"{}\",\"elapsed_s\":{:.3f},\"flows\":{},", event, elapsed, flows);
  append_dir(s, "up", m.up_stats);
  s += ',';
  append_dir(s, "down", m.down_stats);
  s += fmt::format(
      ",\"flows_refused\":{},\"pending\":{},\"cpu_s\":{{\"user\":{:.3f},\"system\":{:.3f},"
      "\"total\":{:.3f}}},\"cpu_ratio\":{:.4f},\"cpu_us_per_packet\":{:.3f},"
      "\"max_rss_kib\":{}}}",
      m.flows_refused, m.heap.size(), user, sys, user + sys,
      elapsed > 0 ? (user + sys) / elapsed : 0.0,
      packets > 0 ? (user + sys) * 1e6 / static_cast<double>(packets) : 0.0, ru.ru_maxrss);
  return s;
}

void Relay::run(double stats_every_s) {
  Impl& m = *impl_;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  m.signal_fd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (m.signal_fd < 0) fail("netlab: signalfd");
  m.add(m.signal_fd, kTagSignal);
  itimerspec tick{};
  tick.it_interval.tv_sec = 1;
  tick.it_value.tv_sec = 1;
  ::timerfd_settime(m.tick_fd, 0, &tick, nullptr);
  std::int64_t next_stats =
      stats_every_s > 0 ? steady_us() + static_cast<std::int64_t>(stats_every_s * 1e6) : -1;
  epoll_event events[64];
  while (true) {
    int n = ::epoll_wait(m.epoll_fd, events, 64, -1);
    if (n < 0 && errno != EINTR) fail("netlab: epoll_wait");
    std::int64_t now = steady_us();
    for (int k = 0; k < n; ++k) {
      std::uint64_t tag = events[k].data.u64;
      if (tag == kTagListen) {
        m.read_listen(now);
      } else if (tag == kTagSignal) {
        return;
      } else if (tag == kTagRelease || tag == kTagTick) {
        std::uint64_t expirations;
        [[maybe_unused]] auto r =
            ::read(tag == kTagRelease ? m.release_fd : m.tick_fd, &expirations, sizeof expirations);
        if (tag == kTagRelease) m.armed_us = -1;  // fired: re-arm below
        if (tag == kTagTick) {
          m.expire_flows(now);
          if (next_stats >= 0 && now >= next_stats) {
            std::string line = stats_json("stats");
            std::fprintf(stdout, "%s\n", line.c_str());
            std::fflush(stdout);
            next_stats += static_cast<std::int64_t>(stats_every_s * 1e6);
          }
        }
      } else if (tag >= kTagFlow) {
        m.read_flow(static_cast<std::uint32_t>(tag - kTagFlow), now);
      }
    }
    m.release_due(steady_us());
  }
}

}  // namespace hype::netlab
