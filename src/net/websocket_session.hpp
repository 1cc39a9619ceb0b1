// Internal to net/: the WsConnection implementation over beast::websocket.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "net/http_message.hpp"

namespace hype::net {

using WsOpenFn =
    std::function<std::shared_ptr<WsListener>(std::shared_ptr<WsConnection>, const HttpRequest&)>;

// Takes over the stream, completes the handshake and runs the session until it closes.
void run_websocket(boost::beast::tcp_stream stream,
                   boost::beast::http::request<boost::beast::http::string_body> req,
                   HttpRequest plain, std::size_t max_frame, const WsOpenFn& open,
                   std::function<void()> on_done);

}  // namespace hype::net
