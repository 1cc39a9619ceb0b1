// net::UdpSocket with its batches, on loopback: sendmmsg in, recvmmsg out, addresses both
// ways, kernel arrival stamps on the monotonic clock, IPv6, and the tailroom left unused.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>

#include <chrono>
#include <cstring>

#include "net/udp_socket.hpp"

using namespace hype;
using net::RxBatch;
using net::TxBatch;
using net::UdpSocket;

namespace {

std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SocketAddress loopback(std::uint16_t port = 0) {
  return SocketAddress::v4(INADDR_LOOPBACK, port);
}

bool wait_readable(const UdpSocket& s) {
  pollfd p{s.fd(), POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1;
}

}  // namespace

TEST(SockaddrConversion, RoundTripsV4AndV6) {
  sockaddr_storage ss{};
  auto v4 = *SocketAddress::parse("192.0.2.7:5004");
  ASSERT_EQ(net::to_sockaddr(v4, ss), sizeof(sockaddr_in));
  EXPECT_EQ(net::from_sockaddr(ss), v4);
  auto v6 = *SocketAddress::parse("[2001:db8::1]:443");
  ASSERT_EQ(net::to_sockaddr(v6, ss), sizeof(sockaddr_in6));
  EXPECT_EQ(net::from_sockaddr(ss), v6);
  EXPECT_EQ(net::to_sockaddr(SocketAddress{}, ss), 0u);
  EXPECT_FALSE(net::from_sockaddr(ss).valid());
}

TEST(UdpSocket, BatchSendAndReceiveOnLoopback) {
  UdpSocket a = UdpSocket::bind(loopback());
  UdpSocket b = UdpSocket::bind(loopback(), {1 << 20, 1 << 20, true, true});
  SocketAddress to = b.local_address();
  ASSERT_TRUE(to.valid());
  ASSERT_NE(to.port, 0);

  TxBatch tx(8, 1500);
  for (int i = 0; i < 5; ++i) {
    std::memset(tx.slot(), 'a' + i, 100 + i);
    tx.commit(to, 100 + static_cast<std::size_t>(i));
  }
  EXPECT_EQ(tx.queued(), 5u);
  std::int64_t before = mono_us();
  auto f = tx.flush(a);
  EXPECT_EQ(f.packets, 5u);
  EXPECT_EQ(f.bytes, 100u + 101 + 102 + 103 + 104);
  EXPECT_EQ(f.dropped, 0u);
  EXPECT_EQ(tx.queued(), 0u);

  ASSERT_TRUE(wait_readable(b));
  RxBatch rx(4, 1600, 100);  // smaller than what is queued: two rounds
  std::size_t got = 0;
  for (int round = 0; round < 2; ++round) {
    std::size_t n = rx.receive(b);
    ASSERT_GT(n, 0u);
    for (std::size_t i = 0; i < n; ++i, ++got) {
      EXPECT_EQ(rx.size(i), 100 + got);
      EXPECT_EQ(rx.data(i)[0], 'a' + got);
      EXPECT_EQ(rx.from(i), a.local_address());
      std::int64_t at = rx.arrival_us(i, -1);
      // The kernel's stamp, on the monotonic clock: between the send and now.
      EXPECT_GE(at, before - 2000);
      EXPECT_LE(at, mono_us() + 2000);
    }
  }
  EXPECT_EQ(got, 5u);
  EXPECT_EQ(rx.receive(b), 0u);  // nothing left: no blocking
}

TEST(UdpSocket, ArrivalFallsBackWithoutTimestamps) {
  UdpSocket a = UdpSocket::bind(loopback());
  UdpSocket b = UdpSocket::bind(loopback());
  std::uint8_t byte = 7;
  ASSERT_TRUE(a.send_to(b.local_address(), &byte, 1));
  ASSERT_TRUE(wait_readable(b));
  RxBatch rx(2, 64);
  ASSERT_EQ(rx.receive(b), 1u);
  EXPECT_EQ(rx.arrival_us(0, 1234), 1234);
}

TEST(UdpSocket, TailroomIsNotHandedToTheKernel) {
  UdpSocket a = UdpSocket::bind(loopback());
  UdpSocket b = UdpSocket::bind(loopback());
  std::vector<std::uint8_t> big(200, 0x55);
  ASSERT_TRUE(a.send_to(b.local_address(), big.data(), big.size()));
  ASSERT_TRUE(wait_readable(b));
  RxBatch rx(1, 128, 28);  // 100 bytes usable: the datagram is truncated there
  ASSERT_EQ(rx.receive(b), 1u);
  EXPECT_EQ(rx.size(0), 100u);
  EXPECT_EQ(rx.slot_size(), 128u);
}

TEST(UdpSocket, Ipv6Loopback) {
  auto any6 = *SocketAddress::parse("[::1]:0");
  UdpSocket a, b;
  try {
    a = UdpSocket::bind(any6);
    b = UdpSocket::bind(any6);
  } catch (const std::system_error&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  TxBatch tx(2, 256);
  tx.slot()[0] = 9;
  tx.commit(b.local_address(), 1);
  ASSERT_EQ(tx.flush(a).packets, 1u);
  ASSERT_TRUE(wait_readable(b));
  RxBatch rx(2, 256);
  ASSERT_EQ(rx.receive(b), 1u);
  EXPECT_TRUE(rx.from(0).is_v6());
  EXPECT_EQ(rx.from(0), a.local_address());
}

TEST(UdpSocket, BadBindThrowsAndSendToInvalidFails) {
  EXPECT_THROW(UdpSocket::bind(SocketAddress{}), std::system_error);
  UdpSocket a = UdpSocket::bind(loopback());
  UdpSocket b = UdpSocket::bind(loopback());
  // The port is taken without SO_REUSEADDR.
  EXPECT_THROW(UdpSocket::bind(b.local_address()), std::system_error);
  std::uint8_t byte = 1;
  EXPECT_FALSE(a.send_to(SocketAddress{}, &byte, 1));
  UdpSocket moved = std::move(a);
  EXPECT_FALSE(a.is_open());
  EXPECT_TRUE(moved.is_open());
}
