#include "net/udp_socket.hpp"

#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace hype::net {

namespace {

constexpr std::size_t kCtrlSpace = CMSG_SPACE(sizeof(timespec));

std::int64_t us_of(const timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000 + t.tv_nsec / 1000;
}

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

SocketAddress from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    sockaddr_in a{};
    std::memcpy(&a, &ss, sizeof(a));
    return SocketAddress::v4(ntohl(a.sin_addr.s_addr), ntohs(a.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    sockaddr_in6 a{};
    std::memcpy(&a, &ss, sizeof(a));
    std::array<std::uint8_t, 16> ip{};
    std::memcpy(ip.data(), &a.sin6_addr, 16);
    return SocketAddress::v6(ip, ntohs(a.sin6_port));
  }
  return {};
}

socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof(ss));
  if (a.is_v4()) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_port = htons(a.port);
    std::memcpy(&s.sin_addr, a.ip.data(), 4);
    std::memcpy(&ss, &s, sizeof(s));
    return sizeof(sockaddr_in);
  }
  if (a.is_v6()) {
    sockaddr_in6 s{};
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(a.port);
    std::memcpy(&s.sin6_addr, a.ip.data(), 16);
    std::memcpy(&ss, &s, sizeof(s));
    return sizeof(sockaddr_in6);
  }
  return 0;
}

// ---- UdpSocket ----

UdpSocket::~UdpSocket() {
  close();
}

UdpSocket::UdpSocket(UdpSocket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void UdpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UdpSocket UdpSocket::bind(const SocketAddress& local, const UdpSocketOptions& o) {
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(local, ss);
  if (len == 0) throw std::system_error(EINVAL, std::generic_category(), "udp bind address");
  int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("udp socket");
  UdpSocket sock(fd);
  int on = 1;
  if (o.reuse_address && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
    fail("SO_REUSEADDR");
  // Buffer sizes and timestamps are best effort (rmem_max may cap them), as before.
  if (o.receive_buffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o.receive_buffer, sizeof(o.receive_buffer));
  if (o.send_buffer > 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o.send_buffer, sizeof(o.send_buffer));
  if (o.rx_timestamps) ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) fail("udp bind");
  return sock;
}

SocketAddress UdpSocket::local_address() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return from_sockaddr(ss);
}

bool UdpSocket::send_to(const SocketAddress& to, const std::uint8_t* data, std::size_t n) const {
  sockaddr_storage ss{};
  socklen_t len = to_sockaddr(to, ss);
  if (len == 0) return false;
  return ::sendto(fd_, data, n, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(n);
}

// ---- RxBatch ----

RxBatch::RxBatch(std::size_t count, std::size_t slot_size, std::size_t room)
    : count_(count),
      slot_(slot_size),
      room_(room < slot_size ? room : 0),
      buf_(count * slot_size),
      msgs_(count),
      iov_(count),
      addr_(count),
      ctrl_(count * kCtrlSpace) {}

RxBatch::~RxBatch() = default;

std::size_t RxBatch::receive(const UdpSocket& sock) {
  for (std::size_t i = 0; i < count_; ++i) {
    iov_[i] = {buf_.data() + i * slot_, slot_ - room_};
    auto& h = msgs_[i].msg_hdr;
    h = {};
    h.msg_name = &addr_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = ctrl_.data() + i * kCtrlSpace;
    h.msg_controllen = kCtrlSpace;
    msgs_[i].msg_len = 0;
  }
  int n = ::recvmmsg(sock.fd(), msgs_.data(), static_cast<unsigned>(count_), MSG_DONTWAIT, nullptr);
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t RxBatch::size(std::size_t i) const {
  return msgs_[i].msg_len;
}

SocketAddress RxBatch::from(std::size_t i) const {
  return from_sockaddr(addr_[i]);
}

std::int64_t RxBatch::realtime_offset_us() {
  timespec real{}, mono{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  return us_of(real) - us_of(mono);
}

std::int64_t RxBatch::arrival_us(std::size_t i, std::int64_t fallback_us) const {
  return arrival_us(i, fallback_us, realtime_offset_us());
}

std::int64_t RxBatch::arrival_us(std::size_t i, std::int64_t fallback_us,
                                 std::int64_t offset_us) const {
  // The kernel stamps CLOCK_REALTIME; moved onto the monotonic clock the caller uses.
  auto& h = msgs_[i].msg_hdr;
  if (h.msg_controllen == 0) return fallback_us;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec arrival{};
      std::memcpy(&arrival, CMSG_DATA(c), sizeof(arrival));
      return us_of(arrival) - offset_us;
    }
  }
  return fallback_us;
}

// ---- TxBatch ----

TxBatch::TxBatch(std::size_t count, std::size_t slot_size)
    : count_(count),
      slot_(slot_size),
      buf_(count * slot_size),
      msgs_(count),
      iov_(count),
      addr_(count) {}

TxBatch::~TxBatch() = default;

void TxBatch::commit(const SocketAddress& to, std::size_t n) {
  if (queued_ == count_ || n > slot_) return;
  socklen_t len = to_sockaddr(to, addr_[queued_]);
  iov_[queued_] = {buf_.data() + queued_ * slot_, n};
  auto& h = msgs_[queued_].msg_hdr;
  h = {};
  h.msg_name = &addr_[queued_];
  h.msg_namelen = len;
  h.msg_iov = &iov_[queued_];
  h.msg_iovlen = 1;
  ++queued_;
}

TxBatch::Flushed TxBatch::flush(const UdpSocket& sock) {
  Flushed f;
  std::size_t off = 0;
  while (off < queued_) {
    int n = ::sendmmsg(sock.fd(), msgs_.data() + off, static_cast<unsigned>(queued_ - off),
                       MSG_DONTWAIT);
    if (n <= 0) {
      // Kernel buffer full or an unreachable peer: drop this one and go on.
      ++f.dropped;
      ++off;
      continue;
    }
    for (int i = 0; i < n; ++i) f.bytes += msgs_[off + static_cast<std::size_t>(i)].msg_len;
    f.packets += static_cast<std::size_t>(n);
    off += static_cast<std::size_t>(n);
  }
  queued_ = 0;
  return f;
}

}  // namespace hype::net
