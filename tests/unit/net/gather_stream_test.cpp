// GatherStream (net/gather_stream.hpp) on a real loopback TCP connection: the frames a
// WebSocket writes while corked leave in one socket write and arrive whole and in order;
// uncorked, what gathers while a flush is on the wire goes in the next one; past the limit a
// write waits until the peer reads; a failed socket fails the writes after it; the WebSocket
// close (teardown) waits for the pending bytes.
#include "net/gather_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using hype::net::GatherStream;

namespace {

// Runs what is ready (an io_context out of work stops until restarted).
void pump(asio::io_context& io) {
  io.restart();
  io.poll();
}

// A connected pair on 127.0.0.1: `server` wrapped in a GatherStream, `client` plain.
struct Pair {
  asio::io_context io;
  tcp::socket client{io};
  std::unique_ptr<GatherStream> server;
  explicit Pair(std::size_t limit = 64 * 1024) {
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acc.local_endpoint());
    tcp::socket s(io);
    acc.accept(s);
    server = std::make_unique<GatherStream>(beast::tcp_stream(std::move(s)), limit);
  }
  std::string read_all_available(std::size_t want) {
    std::string got;
    while (got.size() < want) {
      char buf[65536];
      std::size_t n = client.read_some(asio::buffer(buf));
      got.append(buf, n);
    }
    return got;
  }
};

TEST(GatherStream, CorkedWritesLeaveInOneFlushWholeAndInOrder) {
  Pair p;
  std::string expected;
  p.server->cork();
  int completed = 0;
  for (int i = 0; i < 100; ++i) {
    std::string part = "frame " + std::to_string(i) + ";";
    expected += part;
    asio::async_write(*p.server, asio::buffer(part),
                      [&](boost::system::error_code ec, std::size_t n) {
                        EXPECT_FALSE(ec);
                        EXPECT_GT(n, 0u);
                        ++completed;
                      });
    pump(p.io);  // the write completes at once: nothing is on the wire yet
  }
  EXPECT_EQ(completed, 100);
  EXPECT_EQ(p.server->flushes(), 0u) << "corked: held";
  p.server->uncork();
  pump(p.io);
  EXPECT_EQ(p.server->flushes(), 1u) << "one socket write for the 100 frames";
  EXPECT_EQ(p.read_all_available(expected.size()), expected);
}

TEST(GatherStream, UncorkedWritesGatherWhileAFlushIsOnTheWire) {
  Pair p;
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    std::string part(100, static_cast<char>('a' + i % 26));
    expected += part;
    asio::async_write(*p.server, asio::buffer(part), [](boost::system::error_code, std::size_t) {});
  }
  p.io.run();
  EXPECT_EQ(p.server->writes(), 50u);
  EXPECT_LE(p.server->flushes(), 2u) << "the first write goes at once, the rest gather";
  EXPECT_EQ(p.read_all_available(expected.size()), expected);
}

TEST(GatherStream, PastTheLimitAWriteWaitsForThePeerToRead) {
  Pair p(16 * 1024);
  // The client does not read: the kernel buffers fill, then the gather buffer, then a write
  // stays incomplete.
  std::string chunk(8 * 1024, 'x');
  std::size_t accepted = 0;
  std::function<void()> next = [&] {
    asio::async_write(*p.server, asio::buffer(chunk),
                      [&](boost::system::error_code ec, std::size_t n) {
                        if (ec) return;  // the stream is closed at the end
                        accepted += n;
                        if (accepted < 64 * 1024 * 1024) next();
                      });
  };
  next();
  for (int i = 0; i < 2000; ++i) pump(p.io);
  ASSERT_LT(accepted, 64u * 1024 * 1024) << "a peer that does not read holds the writer";
  std::size_t before = accepted;
  // The peer reads: the writer goes on.
  std::string sink = p.read_all_available(before / 2);
  for (int i = 0; i < 200 && accepted == before; ++i) {
    pump(p.io);
    char buf[65536];
    boost::system::error_code ec;
    p.client.non_blocking(true);
    p.client.read_some(asio::buffer(buf), ec);
  }
  EXPECT_GT(accepted, before);
  p.server.reset();  // closes the socket: the pending flush ends
  p.io.restart();
  p.io.run();
}

TEST(GatherStream, AFailedSocketFailsTheWritesAfterIt) {
  Pair p;
  p.client.close();
  std::string big(1 << 20, 'y');
  boost::system::error_code last;
  for (int i = 0; i < 50 && !last; ++i) {
    asio::async_write(*p.server, asio::buffer(big),
                      [&](boost::system::error_code ec, std::size_t) { last = ec; });
    p.io.run();
    p.io.restart();
  }
  EXPECT_TRUE(last) << "writes to a reset connection fail";
  boost::system::error_code after;
  std::string small = "z";
  asio::async_write(*p.server, asio::buffer(small),
                    [&](boost::system::error_code ec, std::size_t) { after = ec; });
  p.io.run();
  EXPECT_TRUE(after);
}

// A Beast WebSocket server over a GatherStream: messages written while corked arrive at a
// plain Beast client whole and in order, and the close (teardown after the pending bytes)
// reaches the client with its code.
TEST(GatherStream, UnderAWebSocketMessagesAndTheCloseArrive) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  websocket::stream<tcp::socket> client(io);
  std::vector<std::string> got;
  int close_code = 0;
  std::size_t flushes = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = co_await acc.async_accept(asio::use_awaitable);
        websocket::stream<GatherStream> ws(beast::tcp_stream(std::move(s)));
        co_await ws.async_accept(asio::use_awaitable);
        ws.next_layer().cork();
        for (int i = 0; i < 200; ++i) {
          std::string m = "message " + std::to_string(i);
          co_await ws.async_write(asio::buffer(m), asio::use_awaitable);
        }
        ws.next_layer().uncork();
        websocket::close_reason cr;
        cr.code = 4321;
        co_await ws.async_close(cr, asio::use_awaitable);
        flushes = ws.next_layer().flushes();
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await client.next_layer().async_connect(acc.local_endpoint(), asio::use_awaitable);
        co_await client.async_handshake("127.0.0.1", "/", asio::use_awaitable);
        for (;;) {
          beast::flat_buffer buf;
          auto [ec, n] = co_await client.async_read(buf, asio::as_tuple(asio::use_awaitable));
          if (ec) break;
          got.push_back(beast::buffers_to_string(buf.data()));
        }
        close_code = client.reason().code;
      },
      asio::detached);
  io.run();
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i], "message " + std::to_string(i));
  EXPECT_EQ(close_code, 4321);
  EXPECT_LE(flushes, 5u) << "handshake, the 200 messages, the close";
}

// try_write (frames built by the caller) refuses past the limit; async_wait_room completes
// once the peer has read enough, and the bytes arrive whole and in order.
TEST(GatherStream, TryWriteRefusesPastTheLimitAndWaitRoomCompletesWhenThePeerReads) {
  Pair p(4 * 1024);
  std::string sent;
  std::size_t refused_at = 0;
  for (std::size_t i = 0; i < 100'000; ++i) {
    std::string body(1000, static_cast<char>('a' + i % 26));
    std::string head = std::to_string(i) + ":";
    if (!p.server->try_write(head, body)) {
      refused_at = i;
      break;
    }
    sent += head + body;
    pump(p.io);
  }
  ASSERT_GT(refused_at, 0u)
      << "a peer that does not read fills the buffers, then writes are refused";
  EXPECT_FALSE(p.server->failed());
  bool room = false;
  p.server->async_wait_room([&](boost::system::error_code ec) {
    EXPECT_FALSE(ec);
    room = true;
  });
  pump(p.io);
  EXPECT_FALSE(room);
  std::string got;
  p.client.non_blocking(true);
  for (int i = 0; i < 100'000 && !room; ++i) {
    char buf[65536];
    boost::system::error_code ec;
    std::size_t n = p.client.read_some(asio::buffer(buf), ec);
    if (!ec) got.append(buf, n);
    pump(p.io);
  }
  EXPECT_TRUE(room);
  while (got.size() < sent.size()) {
    pump(p.io);
    char buf[65536];
    boost::system::error_code ec;
    std::size_t n = p.client.read_some(asio::buffer(buf), ec);
    if (!ec) got.append(buf, n);
  }
  EXPECT_EQ(got, sent);
}

}  // namespace
