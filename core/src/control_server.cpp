#include "control_server.hpp"

#include <filesystem>
#include <future>
#include <utility>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace switchboard::core {
namespace asio = sdk::asio;
using local = asio::local::stream_protocol;

namespace {
constexpr std::size_t kMaxCommandBytes = 4096;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The handler is copied: a session may still be reading when the server closes.
  Session(local::socket socket, ControlServer::Handler handler)
      : socket_(std::move(socket)), handler_(std::move(handler)) {}

  void start() {
    asio::async_read_until(socket_, input_, '\n', [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) return self->reply(ec == asio::error::not_found ? "error: command longer than 4096 bytes\n"
                                                              : "error: no command line\n");
      std::istream in(&self->input_);
      std::string line;
      std::getline(in, line);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      self->handler_(line, [self](std::string text) {
        asio::post(self->socket_.get_executor(), [self, text = std::move(text)]() mutable { self->reply(std::move(text)); });
      });
    });
  }

 private:
  void reply(std::string text) {
    output_ = std::move(text);
    asio::async_write(socket_, asio::buffer(output_), [self = shared_from_this()](boost::system::error_code, std::size_t) {
      boost::system::error_code ignored;
      self->socket_.shutdown(local::socket::shutdown_both, ignored);
      self->socket_.close(ignored);
    });
  }

  local::socket socket_;
  asio::streambuf input_{kMaxCommandBytes};
  std::string output_;
  ControlServer::Handler handler_;
};

}  // namespace

struct ControlServer::State : std::enable_shared_from_this<ControlServer::State> {
  State(asio::io_context& io, std::string path, Handler handler, std::shared_ptr<spdlog::logger> log)
      : acceptor(asio::make_strand(io)), path(std::move(path)), handler(std::move(handler)), log(std::move(log)) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, local::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->handler)->start();
      else self->log->warn("control connection not accepted error=\"{}\"", ec.message());
      self->accept();
    });
  }

  local::acceptor acceptor;
  std::string path;
  Handler handler;
  std::shared_ptr<spdlog::logger> log;
};

sdk::Result<std::unique_ptr<ControlServer>> ControlServer::open(asio::io_context& io, const std::string& path,
                                                                Handler handler, std::shared_ptr<spdlog::logger> log) {
  namespace fs = std::filesystem;
  std::error_code fs_error;
  fs::create_directories(fs::path(path).parent_path(), fs_error);
  if (fs::exists(path, fs_error)) {
    if (send_control_command(path, "ping")) {
      return sdk::make_error(sdk::ErrorCode::conflict,
                             "control socket " + path + " is in use by another running switchboard (stop it, or set "
                             "control.socket to another path)");
    }
    fs::remove(path, fs_error);  // left behind by a process that is gone
  }
  auto state = std::make_shared<State>(io, path, std::move(handler), std::move(log));
  boost::system::error_code ec;
  try {
    state->acceptor.open(local(), ec);
    if (!ec) state->acceptor.bind(local::endpoint(path), ec);  // throws when the path is too long for a socket
    if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  } catch (const boost::system::system_error& e) {
    ec = e.code();
  }
  if (ec) return sdk::make_error(sdk::ErrorCode::failed, "cannot listen on control socket " + path + ": " + ec.message());
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::group_write,
                  fs_error);
  asio::post(state->acceptor.get_executor(), [state] { state->accept(); });
  state->log->info("control socket listening path={}", path);
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(state)));
}

ControlServer::~ControlServer() {
  std::promise<void> closed;
  asio::post(state_->acceptor.get_executor(), [this, &closed] {
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    closed.set_value();
  });
  closed.get_future().wait();
  std::error_code ignored;
  std::filesystem::remove(state_->path, ignored);
}

sdk::Result<std::string> send_control_command(const std::string& path, const std::string& command) {
  asio::io_context io;
  local::socket socket(io);
  boost::system::error_code ec;
  try {
    socket.connect(local::endpoint(path), ec);
  } catch (const boost::system::system_error& e) {
    ec = e.code();  // a path too long for a socket
  }
  if (ec)
    return sdk::make_error(sdk::ErrorCode::unavailable,
                           "no running switchboard answers on " + path + " (" + ec.message() +
                               "); start it with `switchboard serve -c CONFIG`");
  asio::write(socket, asio::buffer(command + "\n"), ec);
  std::string reply;
  if (!ec) {
    char chunk[4096];
    for (;;) {
      auto n = socket.read_some(asio::buffer(chunk), ec);
      reply.append(chunk, n);
      if (ec) break;
    }
  }
  if (ec && ec != asio::error::eof)
    return sdk::make_error(sdk::ErrorCode::failed, "control socket " + path + ": " + ec.message());
  return reply;
}

}  // namespace switchboard::core
