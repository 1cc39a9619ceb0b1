// Internal to net/: the WsConnection implementation over beast::websocket, with the
// protections every endpoint shares (WsOptions): identify deadline, inbound frame budget,
// bounded send queue, write deadline, shedding while not identified.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <memory>

#include "net/connection_limits.hpp"
#include "net/http_message.hpp"
#include "net/http_server.hpp"

namespace hype::net {

using WsOpenFn =
    std::function<std::shared_ptr<WsListener>(std::shared_ptr<WsConnection>, const HttpRequest&)>;

// Takes over the stream, completes the handshake and runs the session until it closes. The
// caller has already reserved an unauthenticated place for the client's address in `limits`;
// the session gives it back once identified or closed.
void run_websocket(boost::beast::tcp_stream stream,
                   boost::beast::http::request<boost::beast::http::string_body> req,
                   HttpRequest plain, const WsOptions& options,
                   std::shared_ptr<ConnectionLimits> limits, const WsOpenFn& open,
                   std::function<void()> on_done);

}  // namespace hype::net
