// hype-bot's UDP receive with the kernel's arrival timestamp (SO_TIMESTAMPNS), so that the
// latency a bot reports does not include the time its own media thread took to get to the
// socket (many bots share one thread, and several bot processes one core in bench/voice).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace hype::bot {

inline void enable_rx_timestamps(int fd) {
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
}

// recvfrom() that also returns the arrival time on CLOCK_MONOTONIC (std::chrono::
// steady_clock) in microseconds; `fallback_us` when the kernel gave no timestamp.
inline long recv_stamped(int fd, std::uint8_t* buf, std::size_t cap, sockaddr_in& from,
                         std::int64_t fallback_us, std::int64_t& rx_us) {
  iovec iov{buf, cap};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(timespec))];
  msghdr h{};
  h.msg_name = &from;
  h.msg_namelen = sizeof(from);
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  h.msg_control = ctrl;
  h.msg_controllen = sizeof(ctrl);
  long n = ::recvmsg(fd, &h, MSG_DONTWAIT);
  rx_us = fallback_us;
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec arrival{}, real{}, mono{};
      __builtin_memcpy(&arrival, CMSG_DATA(c), sizeof(arrival));
      ::clock_gettime(CLOCK_REALTIME, &real);
      ::clock_gettime(CLOCK_MONOTONIC, &mono);
      auto us = [](const timespec& t) {
        return static_cast<std::int64_t>(t.tv_sec) * 1'000'000 + t.tv_nsec / 1000;
      };
      rx_us = us(arrival) - (us(real) - us(mono));
    }
  }
  return n;
}

}  // namespace hype::bot
