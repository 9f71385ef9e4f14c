// The host's HTTP server (Boost.Beast on the host's io_context): HTTP/1.1 with keep-alive, optional TLS,
// static files from one folder, and a WebSocket endpoint. It knows nothing of agents or calls: every
// request under /api/ (and /healthz) goes to an HttpHandler, which answers from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/result.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::core {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;  // percent-decoded
  std::string body;
  std::string content_type;  // the media type alone, lower case: "application/json"
  std::string cookie;        // the Cookie header
  std::string csrf_token;    // X-CSRF-Token
  std::string origin;
  std::string host;
  std::string remote_address;
  bool secure = false;  // came over TLS
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// One open WebSocket, as the application sees it. Both calls are safe from any thread.
class EventSocket {
 public:
  virtual ~EventSocket() = default;
  virtual void send(std::string text) = 0;
  virtual void close() = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  using Respond = std::function<void(HttpResponse)>;
  // Called on the connection's strand; `respond` exactly once, from any thread.
  virtual void handle(HttpRequest request, Respond respond) = 0;
  // The largest body accepted for this request (its headers read); larger ones get 413.
  virtual std::uint64_t body_limit(const std::string& method, const std::string& path) const = 0;
  // A WebSocket upgrade at the events path: a refusal, or nothing to accept it.
  virtual std::optional<HttpResponse> check_upgrade(const HttpRequest& request) = 0;
  // The accepted socket (after the handshake), each text message it receives, and its end.
  virtual void opened(std::shared_ptr<EventSocket> socket, const HttpRequest& request) = 0;
  virtual void received(EventSocket* socket, std::string text) = 0;
  virtual void closed(EventSocket* socket) = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
  std::string web_root;       // static files; "/" serves index.html
  std::string certificate;    // PEM files; both set = TLS
  std::string key;
  std::string events_path = "/api/events";
};

class HttpServer {
 public:
  // Binds and starts accepting. Errors name the address and the reason (in use, no permission, bad PEM).
  static sdk::Result<std::unique_ptr<HttpServer>> open(sdk::asio::io_context& io, HttpServerOptions options,
                                                       std::shared_ptr<HttpHandler> handler,
                                                       std::shared_ptr<spdlog::logger> log);
  // Stops accepting and closes every connection.
  ~HttpServer();
  std::uint16_t port() const noexcept;

  struct State;

 private:
  explicit HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// The JSON error body every API error carries: {"error": message}.
HttpResponse json_error(unsigned status, const std::string& message);

}  // namespace switchboard::core
