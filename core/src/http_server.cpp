#include "http_server.hpp"

#include <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace switchboard::core {
namespace asio = sdk::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

HttpResponse json_error(unsigned status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"error", message}}.dump();
  return r;
}

namespace {

constexpr std::chrono::seconds read_timeout{30};
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t max_socket_message = 64 * 1024;

// What every connection can close on shutdown.
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void shut() = 0;
};

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view view(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view mime_type(const fs::path& file) {
  const auto ext = lower(file.extension().string());
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

HttpRequest to_request(const http::request<http::string_body>& req, const std::string& remote, bool secure) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  std::string_view target = view(req.target());
  auto question = target.find('?');
  r.path = percent_decode(target.substr(0, question), false);
  if (question != std::string_view::npos) {
    std::string_view rest = target.substr(question + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      auto eq = pair.find('=');
      if (!pair.empty())
        r.query[percent_decode(pair.substr(0, eq), true)] =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  r.body = req.body();
  std::string_view type = view(req[http::field::content_type]);
  r.content_type = lower(type.substr(0, type.find(';')));
  while (!r.content_type.empty() && r.content_type.back() == ' ') r.content_type.pop_back();
  r.cookie = std::string(req[http::field::cookie]);
  r.csrf_token = std::string(req["X-CSRF-Token"]);
  r.origin = std::string(req[http::field::origin]);
  r.host = std::string(req[http::field::host]);
  r.remote_address = remote;
  r.secure = secure;
  return r;
}

http::response<http::string_body> to_beast(HttpResponse r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "switchboard");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "same-origin");
  for (auto& [name, value] : r.headers) res.insert(name, value);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

}  // namespace

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  HttpServerOptions options;
  std::shared_ptr<HttpHandler> handler;
  std::shared_ptr<spdlog::logger> log;
  asio::io_context& io;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  std::uint16_t port = 0;
  std::atomic<bool> closing{false};
  std::mutex mutex;  // guards connections
  std::vector<std::weak_ptr<Closable>> connections;

  State(asio::io_context& io_context) : io(io_context), acceptor(asio::make_strand(io_context)) {}

  void track(const std::shared_ptr<Closable>& c) {
    std::lock_guard lock(mutex);
    std::erase_if(connections, [](const auto& w) { return w.expired(); });
    connections.push_back(c);
  }
  void accept();
  std::optional<HttpResponse> static_file(const HttpRequest& request) const;
};

namespace {

template <class Stream>
constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

template <class Stream>
class WebSocketConnection final : public EventSocket,
                                  public Closable,
                                  public std::enable_shared_from_this<WebSocketConnection<Stream>> {
 public:
  WebSocketConnection(Stream&& stream, std::shared_ptr<HttpServer::State> server)
      : ws_(std::move(stream)), server_(std::move(server)) {}

  void run(http::request<http::string_body> upgrade, HttpRequest request) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket keeps its own timeouts
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(max_socket_message);
    request_ = std::move(request);
    upgrade_ = std::move(upgrade);
    ws_.async_accept(upgrade_, [self = this->shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void send(std::string text) override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this(), text = std::move(text)]() mutable {
      if (self->closed_) return;
      self->queue_.push_back(std::move(text));
      if (self->queue_.size() == 1) self->write_next();
    });
  }
  void close() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      if (self->closed_ || !self->accepted_) return;
      self->ws_.async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  }
  void shut() override { close(); }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    accepted_ = true;
    server_->handler->opened(this->shared_from_this(), request_);
    read();
  }
  void read() {
    ws_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      std::string text = beast::buffers_to_string(self->buffer_.data());
      self->buffer_.consume(self->buffer_.size());
      self->server_->handler->received(self.get(), std::move(text));
      self->read();
    });
  }
  void write_next() {
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->write_next();
    });
  }
  void finish() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    server_->handler->closed(this);
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<HttpServer::State> server_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> upgrade_;
  HttpRequest request_;
  std::deque<std::string> queue_;
  bool accepted_ = false;
  bool closed_ = false;
};

template <class Stream>
class HttpConnection final : public Closable, public std::enable_shared_from_this<HttpConnection<Stream>> {
 public:
  HttpConnection(Stream&& stream, std::string remote, std::shared_ptr<HttpServer::State> server)
      : stream_(std::move(stream)), remote_(std::move(remote)), server_(std::move(server)) {}

  void run() {
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(read_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          self->server_->log->debug("TLS handshake failed remote={}: {}", self->remote_, ec.message());
          return;
        }
        self->read();
      });
    } else {
      read();
    }
  }

  void shut() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    // The limit depends on the path: set once the header is read (a Content-Length is checked against it then).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(stream_).expires_after(read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return end(ec);
    const auto& header = parser_->get();
    std::string_view target = view(header.target());
    std::string path(target.substr(0, target.find('?')));
    const auto limit = server_->handler->body_limit(std::string(header.method_string()), path);
    // Beast checks a Content-Length against the limit only while reading the header: check it here.
    if (auto length = parser_->content_length(); length && *length > limit) return too_large(header.version());
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return too_large(parser_->get().version());
    if (ec) return end(ec);
    auto req = parser_->release();
    HttpRequest request = to_request(req, remote_, is_tls<Stream>);
    if (websocket::is_upgrade(req)) {
      if (request.path != server_->options.events_path)
        return write(json_error(404, "no WebSocket at " + request.path + "; the events are at " +
                                         server_->options.events_path),
                     req.version(), false);
      if (auto refusal = server_->handler->check_upgrade(request))
        return write(std::move(*refusal), req.version(), false);
      auto socket = std::make_shared<WebSocketConnection<Stream>>(std::move(stream_), server_);
      server_->track(socket);
      socket->run(std::move(req), std::move(request));
      return;
    }
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    if (request.path == "/healthz" || request.path.rfind("/api/", 0) == 0 || request.path == "/api") {
      auto self = this->shared_from_this();
      server_->handler->handle(std::move(request), [self, version, keep_alive](HttpResponse response) {
        asio::post(self->stream_.get_executor(), [self, version, keep_alive, response = std::move(response)]() mutable {
          self->write(std::move(response), version, keep_alive);
        });
      });
      return;
    }
    if (request.method != "GET" && request.method != "HEAD")
      return write(json_error(405, request.method + " is not allowed on static files"), version, keep_alive);
    auto response = server_->static_file(request);
    if (!response) response = json_error(404, "no such page: " + request.path);
    if (request.method == "HEAD") response->body.clear();
    write(std::move(*response), version, keep_alive);
  }

  void too_large(unsigned version) {
    write(json_error(413, "the request body is larger than this server accepts here (see api.max_body and "
                          "api.max_import_body)"),
          version, false);
  }

  void write(HttpResponse response, unsigned version, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(to_beast(std::move(response), version, keep_alive));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec) return self->end(ec);
      if (!res->keep_alive()) return self->end(http::error::end_of_stream);
      self->read();
    });
  }

  void end(beast::error_code ec) {
    if (ec && ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::operation_aborted)
      server_->log->debug("connection remote={} ended: {}", remote_, ec.message());
    if constexpr (is_tls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      drain();
    }
  }

  // After our last answer: read what the client still sends (the rest of a refused body) until it closes,
  // for a few seconds at most, so closing does not reset the connection before the client read the answer.
  void drain() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(3));
    stream_.async_read_some(asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->drain();
    });
  }

  Stream stream_;
  std::string remote_;
  std::shared_ptr<HttpServer::State> server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 16 * 1024> discard_{};
};

}  // namespace

void HttpServer::State::accept() {
  acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->closing) return;
    if (ec) {
      self->log->warn("accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      auto remote = socket.remote_endpoint(ignored).address().to_string();
      if (self->tls) {
        auto c = std::make_shared<HttpConnection<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(std::move(socket), *self->tls), remote, self);
        self->track(c);
        c->run();
      } else {
        auto c = std::make_shared<HttpConnection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), remote, self);
        self->track(c);
        c->run();
      }
    }
    self->accept();
  });
}

std::optional<HttpResponse> HttpServer::State::static_file(const HttpRequest& request) const {
  if (options.web_root.empty()) return std::nullopt;
  std::string relative = request.path == "/" ? "index.html" : request.path.substr(1);
  fs::path root = fs::path(options.web_root).lexically_normal();
  fs::path file = (root / relative).lexically_normal();
  // Nothing outside the root: "..", absolute parts and symlinked escapes are all refused.
  auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (root_end != root.end() && !root_end->empty()) return std::nullopt;
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "index.html";
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream body;
  body << in.rdbuf();
  HttpResponse r;
  r.content_type = std::string(mime_type(file));
  r.body = body.str();
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                         "connect-src 'self'; frame-ancestors 'none'");
  return r;
}

sdk::Result<std::unique_ptr<HttpServer>> HttpServer::open(asio::io_context& io, HttpServerOptions options,
                                                          std::shared_ptr<HttpHandler> handler,
                                                          std::shared_ptr<spdlog::logger> log) {
  auto state = std::make_shared<State>(io);
  state->options = std::move(options);
  state->handler = std::move(handler);
  state->log = std::move(log);
  const auto& o = state->options;
  const std::string address = o.host + ":" + std::to_string(o.port);
  if (!o.certificate.empty() || !o.key.empty()) {
    for (const auto* file : {&o.certificate, &o.key})
      if (std::ifstream probe(*file); !probe)
        return sdk::make_error(sdk::ErrorCode::invalid_argument,
                               "api.tls: cannot read " + *file + ": " + std::strerror(errno));
    try {
      state->tls.emplace(ssl::context::tls_server);
      state->tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                              ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      state->tls->use_certificate_chain_file(o.certificate);
      state->tls->use_private_key_file(o.key, ssl::context::pem);
    } catch (const std::exception& e) {
      return sdk::make_error(sdk::ErrorCode::invalid_argument,
                             "api.tls: cannot use certificate " + o.certificate + " with key " + o.key + ": " + e.what());
    }
  }
  beast::error_code ec;
  auto ip = asio::ip::make_address(o.host, ec);
  if (ec) return sdk::make_error(sdk::ErrorCode::invalid_argument, "api.listen: " + o.host + " is not an IP address");
  tcp::endpoint endpoint(ip, o.port);
  auto& acceptor = state->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return sdk::make_error(ec == asio::error::address_in_use ? sdk::ErrorCode::conflict : sdk::ErrorCode::failed,
                           "api.listen: cannot listen on " + address + ": " + ec.message());
  state->port = acceptor.local_endpoint().port();
  state->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::~HttpServer() {
  state_->closing = true;
  std::promise<void> closed;
  asio::post(state_->acceptor.get_executor(), [this, &closed] {
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  std::vector<std::shared_ptr<Closable>> open;
  {
    std::lock_guard lock(state_->mutex);
    for (auto& w : state_->connections)
      if (auto c = w.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open) c->shut();
}

std::uint16_t HttpServer::port() const noexcept { return state_->port; }

}  // namespace switchboard::core
