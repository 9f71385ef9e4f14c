// The local control socket of a running host (`control.socket`): the way `switchboard groups …` reaches a
// `serve` process on the same machine, as `asterisk -rx` or `kamcmd` do. One command line per connection,
// answered with text whose first line is `ok` or `error: …`, then the connection closes.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/result.hpp"

namespace spdlog {
class logger;
}

namespace switchboard::core {

class ControlServer {
 public:
  using Respond = std::function<void(std::string reply)>;
  // Runs for each command line; calls `respond` exactly once, from any thread.
  using Handler = std::function<void(std::string command, Respond respond)>;

  // Binds `path` (its folder created). A socket file left by a process that is gone is replaced; one a
  // live process still answers on is an error.
  static sdk::Result<std::unique_ptr<ControlServer>> open(sdk::asio::io_context& io, const std::string& path,
                                                          Handler handler, std::shared_ptr<spdlog::logger> log);
  // Stops accepting (waits for the io thread) and removes the socket file.
  ~ControlServer();

  struct State;

 private:
  explicit ControlServer(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

// The client side: sends `command` to the host listening on `path` and returns its reply; fails with a
// message a person can act on when nothing listens there.
sdk::Result<std::string> send_control_command(const std::string& path, const std::string& command);

}  // namespace switchboard::core
