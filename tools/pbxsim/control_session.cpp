#include "control_session.hpp"

#include <istream>
#include <utility>

namespace switchboard::pbxsim {
namespace {

namespace asio = sdk::asio;
using error_code = boost::system::error_code;

constexpr std::size_t kMaxLineBytes = 4096;  // a command is a few words; more is not a command

}  // namespace

ControlSession::ControlSession(asio::ip::tcp::socket socket, Handler handler, std::function<void()> quit,
                               std::shared_ptr<spdlog::logger> log)
    : socket_(std::move(socket)),
      handler_(std::move(handler)),
      quit_(std::move(quit)),
      log_(std::move(log)),
      input_(kMaxLineBytes) {}

void ControlSession::close() {
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void ControlSession::read() {
  asio::async_read_until(socket_, input_, '\n', [self = shared_from_this()](const error_code& error, std::size_t) {
    if (error) {
      if (error == asio::error::not_found)
        self->log_->warn("control line longer than {} bytes: closing", kMaxLineBytes);
      self->close();
      return;
    }
    std::istream in(&self->input_);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    self->reply(self->handler_(line));
  });
}

void ControlSession::reply(ControlReply answer) {
  output_ = std::move(answer.text) + "\n";
  asio::async_write(socket_, asio::buffer(output_),
                    [self = shared_from_this(), quit = answer.quit](const error_code& error, std::size_t) {
                      if (quit) {
                        self->quit_();
                        return;
                      }
                      if (error) {
                        self->close();
                        return;
                      }
                      self->read();
                    });
}

}  // namespace switchboard::pbxsim
