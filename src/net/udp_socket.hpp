// The media UDP socket, shared by the SFU workers and hype-bot: a non-blocking datagram
// socket plus batched receive (recvmmsg, optionally with the kernel's arrival time from
// SO_TIMESTAMPNS) and batched send (sendmmsg), with the sockaddr <-> SocketAddress
// conversion in one place. Buffers are allocated once, when a batch is built: nothing here
// allocates per datagram. It knows no event loop: the owner waits for readability (Asio,
// epoll) and calls receive() until it returns 0.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/socket_address.hpp"

namespace hype::net {

SocketAddress from_sockaddr(const sockaddr_storage& ss);
// Fills `ss` and returns the length to pass to the kernel (0 for an invalid address).
socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& ss);

struct UdpSocketOptions {
  int receive_buffer = 0;  // SO_RCVBUF in bytes; 0 keeps the kernel default
  int send_buffer = 0;     // SO_SNDBUF
  bool reuse_address = false;
  bool rx_timestamps = false;  // SO_TIMESTAMPNS: RxBatch::arrival_us() is the kernel's time
};

class UdpSocket {
 public:
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& o) noexcept;
  UdpSocket& operator=(UdpSocket&& o) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // A non-blocking socket bound to `local` (port 0: ephemeral). Throws std::system_error.
  static UdpSocket bind(const SocketAddress& local, const UdpSocketOptions& options = {});

  int fd() const { return fd_; }
  bool is_open() const { return fd_ >= 0; }
  SocketAddress local_address() const;
  // One datagram now (control traffic, single sends); false when the kernel refused it.
  bool send_to(const SocketAddress& to, const std::uint8_t* data, std::size_t n) const;
  void close();

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Up to `count` datagrams per receive() call, each in its own slot of `slot_size` bytes.
class RxBatch {
 public:
  // `room` bytes of each slot are not handed to the kernel: tailroom the caller may use to
  // grow a datagram in place (e.g. SRTP).
  RxBatch(std::size_t count, std::size_t slot_size, std::size_t room = 0);
  ~RxBatch();
  RxBatch(const RxBatch&) = delete;
  RxBatch& operator=(const RxBatch&) = delete;

  // Reads what is queued (MSG_DONTWAIT), at most count(). Returns how many datagrams (0 when
  // none or on error).
  std::size_t receive(const UdpSocket& sock);

  std::size_t count() const { return count_; }
  std::size_t size(std::size_t i) const;  // bytes received into slot i
  // The whole slot (slot_size bytes, including the tailroom); the datagram is its first size(i).
  std::uint8_t* data(std::size_t i) { return buf_.data() + i * slot_; }
  std::size_t slot_size() const { return slot_; }
  SocketAddress from(std::size_t i) const;
  // Arrival time on CLOCK_MONOTONIC (steady_clock) in microseconds when the socket has
  // rx_timestamps and the kernel stamped it; `fallback_us` otherwise.
  std::int64_t arrival_us(std::size_t i, std::int64_t fallback_us) const;
  // The same with the realtime-to-monotonic offset read once by the caller (per batch):
  // realtime_offset_us() = CLOCK_REALTIME - CLOCK_MONOTONIC now.
  std::int64_t arrival_us(std::size_t i, std::int64_t fallback_us, std::int64_t offset_us) const;
  static std::int64_t realtime_offset_us();

 private:
  std::size_t count_, slot_, room_;
  std::vector<std::uint8_t> buf_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> addr_;
  std::vector<std::uint8_t> ctrl_;  // one cmsg area per slot
};

// Datagrams queued into fixed slots and sent with one sendmmsg per flush().
class TxBatch {
 public:
  struct Flushed {
    std::size_t packets = 0;
    std::size_t bytes = 0;
    std::size_t dropped = 0;  // refused by the kernel (buffer full, unreachable): not retried
  };

  TxBatch(std::size_t count, std::size_t slot_size);
  ~TxBatch();
  TxBatch(const TxBatch&) = delete;
  TxBatch& operator=(const TxBatch&) = delete;

  bool full() const { return queued_ == count_; }
  std::size_t queued() const { return queued_; }
  std::size_t slot_size() const { return slot_; }
  // Where the next datagram is written (slot_size bytes). The caller flushes first if full().
  std::uint8_t* slot() { return buf_.data() + queued_ * slot_; }
  // Queues the first `n` bytes of slot() for `to`.
  void commit(const SocketAddress& to, std::size_t n);
  Flushed flush(const UdpSocket& sock);

 private:
  std::size_t count_, slot_;
  std::size_t queued_ = 0;
  std::vector<std::uint8_t> buf_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iov_;
  std::vector<sockaddr_storage> addr_;
};

}  // namespace hype::net
