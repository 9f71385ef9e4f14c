// One connection to the control port: a line in, one line out ("ok ..." or "error ..."), in turn.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "switchboard/sdk/asio.hpp"  // first: it includes <utility> before Asio

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

namespace switchboard::pbxsim {

struct ControlReply {
  std::string text;   // one line, without the newline
  bool quit = false;  // the server stops once the reply is written
};

class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  using Handler = std::function<ControlReply(std::string_view line)>;

  ControlSession(sdk::asio::ip::tcp::socket socket, Handler handler, std::function<void()> quit,
                 std::shared_ptr<spdlog::logger> log);
  void start() { read(); }
  void close();

 private:
  void read();
  void reply(ControlReply answer);

  sdk::asio::ip::tcp::socket socket_;
  Handler handler_;
  std::function<void()> quit_;
  std::shared_ptr<spdlog::logger> log_;
  sdk::asio::streambuf input_;
  std::string output_;
};

}  // namespace switchboard::pbxsim
