// Test helpers: a raw CSTA client and a control-port client (blocking, with timeouts, over 127.0.0.1),
// pbxsim run in-process on its own io thread, and pbxsim run as a child process.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "switchboard/sdk/asio.hpp"  // first: it includes <utility> before Asio

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include "codec/framing.hpp"
#include "codec/message.hpp"
#include "server.hpp"

extern char** environ;

namespace switchboard::pbxsim::testing {

namespace asio = sdk::asio;
using asio::ip::tcp;
using csta::Message;
using csta::MessageKind;
using namespace std::chrono_literals;

constexpr auto kAnswerTimeout = 2s;

// Runs a blocking-looking operation on a private io_context for at most `timeout`; false on timeout.
template <class Start>
bool run_for(asio::io_context& io, tcp::socket& socket, std::chrono::milliseconds timeout, Start start) {
  bool done = false;
  start(done);
  io.restart();
  io.run_for(timeout);
  if (done) return true;
  socket.cancel();
  io.restart();
  io.run();  // lets the cancelled operation complete
  return false;
}

struct Received {
  csta::Frame frame;
  Message message;
};

class CstaTestClient {
 public:
  explicit CstaTestClient(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    socket_.set_option(tcp::no_delay(true));
  }

  std::uint16_t send(const Message& message) {
    auto invoke_id = invoke_ids_.next();
    send_with(invoke_id, message);
    return invoke_id;
  }
  void send_with(std::uint16_t invoke_id, const Message& message) {
    auto body = csta::encode_message(message);
    ASSERT_TRUE(body.ok()) << body.error().message;
    send_body(invoke_id, *body);
  }
  void send_body(std::uint16_t invoke_id, std::string_view body) {
    auto frame = csta::encode_frame(invoke_id, body);
    ASSERT_TRUE(frame.ok()) << frame.error().message;
    send_raw(*frame);
  }
  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }

  // The next complete frame, or nothing on timeout, close or a framing error.
  std::optional<csta::Frame> next_frame(std::chrono::milliseconds timeout = kAnswerTimeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto frame = decoder_.next()) return frame;
      if (decoder_.failed() || closed_) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return std::nullopt;
    }
  }

  // The next frame decoded; a test failure (and an empty message) when none arrives in time.
  Received next(std::chrono::milliseconds timeout = kAnswerTimeout) {
    auto frame = next_frame(timeout);
    if (!frame) {
      ADD_FAILURE() << "no frame within " << timeout.count() << " ms" << (closed_ ? " (connection closed)" : "")
                    << (decoder_.failed() ? " (framing error)" : "");
      return {};
    }
    auto message = csta::decode_message(frame->body);
    if (!message) {
      ADD_FAILURE() << "undecodable frame: " << message.error().message;
      return {*frame, {}};
    }
    return {*frame, *message};
  }

  Received expect(MessageKind kind, std::chrono::milliseconds timeout = kAnswerTimeout) {
    auto received = next(timeout);
    EXPECT_EQ(csta::to_string(received.message.kind), std::string(csta::to_string(kind)))
        << "root " << received.message.root_name << " error " << received.message.error_category << "/"
        << received.message.error_value;
    return received;
  }

  // An event (invoke id 9999) of `kind`.
  Message expect_event(MessageKind kind) {
    auto received = expect(kind);
    EXPECT_EQ(received.frame.invoke_id, csta::kEventInvokeId);
    return received.message;
  }

  // Sends a request and returns its answer, checking the invoke id is echoed.
  Message request(const Message& message) {
    auto invoke_id = send(message);
    auto answer = next();
    EXPECT_EQ(answer.frame.invoke_id, invoke_id) << "answer to " << csta::to_string(message.kind);
    return answer.message;
  }

  // True when the server closes the connection within `timeout`; frames before that are skipped.
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      while (decoder_.next()) {
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return closed_;
    }
    return true;
  }

  // True when nothing arrives for `quiet`: only for what must NOT happen (no event exists to wait for).
  bool nothing_for(std::chrono::milliseconds quiet) { return !next_frame(quiet); }

  // Raw bytes as they arrive (for the malformed frame): whatever comes within `timeout`.
  std::string read_raw(std::chrono::milliseconds timeout) {
    std::string bytes;
    run_for(io_, socket_, timeout, [&](bool& done) {
      socket_.async_read_some(asio::buffer(buffer_), [&](const boost::system::error_code& error, std::size_t n) {
        done = true;
        if (!error) bytes.assign(buffer_.data(), n);
      });
    });
    return bytes;
  }

  bool closed() const { return closed_; }

 private:
  bool read_some(std::chrono::milliseconds timeout) {
    bool completed = run_for(io_, socket_, timeout, [&](bool& done) {
      socket_.async_read_some(asio::buffer(buffer_), [&](const boost::system::error_code& error, std::size_t n) {
        done = true;
        if (error == asio::error::operation_aborted) return;  // our own timeout
        if (error) {
          closed_ = true;
          return;
        }
        decoder_.feed(std::string_view(buffer_.data(), n));
      });
    });
    return completed && !closed_;
  }

  asio::io_context io_;
  tcp::socket socket_;
  csta::FrameDecoder decoder_;
  csta::InvokeIdAllocator invoke_ids_;
  std::array<char, 65536> buffer_{};
  bool closed_ = false;
};

class ControlClient {
 public:
  explicit ControlClient(std::uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  // One command, one answer line (without the newline); empty when none arrives in time.
  std::string command(std::string_view line) {
    std::string text = std::string(line) + "\n";
    asio::write(socket_, asio::buffer(text));
    std::string answer;
    run_for(io_, socket_, kAnswerTimeout, [&](bool& done) {
      asio::async_read_until(socket_, input_, '\n', [&](const boost::system::error_code& error, std::size_t) {
        done = true;
        if (error) return;
        std::istream in(&input_);
        std::getline(in, answer);
      });
    });
    return answer;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  asio::streambuf input_;
};

inline std::shared_ptr<spdlog::logger> test_logger() {
  static auto log = [] {
    auto logger = std::make_shared<spdlog::logger>("pbxsim", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    const char* level = std::getenv("PBXSIM_TEST_LOG_LEVEL");  // e.g. debug, to see every frame
    logger->set_level(spdlog::level::from_str(level ? level : "warn"));
    return logger;
  }();
  return log;
}

inline Scenario scenario_from(const std::string& yaml) {
  sdk::Diagnostics diag;
  auto scenario = parse_scenario(yaml, "test.yaml", diag);
  if (!scenario) {
    std::string errors;
    for (const auto& d : diag.errors()) errors += d.path + ": " + d.message + "\n";
    throw std::invalid_argument("bad test scenario:\n" + errors);
  }
  return *scenario;
}

// pbxsim in this process, on its own io thread, on free ports of 127.0.0.1.
class InProcessPbxSim {
 public:
  explicit InProcessPbxSim(const std::string& scenario_yaml, std::optional<LoadOptions> load = std::nullopt) {
    ServerOptions options;
    options.control = ListenAddress{};
    options.load = std::move(load);
    server_ = std::make_unique<PbxSimServer>(io_, scenario_from(scenario_yaml), options, test_logger());
    server_->start();
    csta_port_ = server_->csta_endpoint().port();
    control_port_ = server_->control_endpoint()->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~InProcessPbxSim() {
    if (!thread_.joinable()) return;  // stopped by itself already
    asio::post(io_, [this] { server_->stop(); });
    thread_.join();  // returns only when stop() left no work behind
  }

  std::uint16_t csta_port() const { return csta_port_; }
  int exit_code() const { return server_->exit_code(); }
  std::uint16_t control_port() const { return control_port_; }
  // Waits for the server to stop by itself (load mode); its report afterwards.
  std::optional<LoadReport> wait_for_load_report() {
    thread_.join();
    return server_->load_report();
  }

 private:
  asio::io_context io_;
  std::unique_ptr<PbxSimServer> server_;
  std::uint16_t csta_port_ = 0;
  std::uint16_t control_port_ = 0;
  std::thread thread_;
};

// switchboard-pbxsim as a child process; its stdout (and stderr, when merged) is read through a pipe.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& args, bool merge_stderr) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    output_fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(output_fd_);
  }

  // One line of output (without the newline), or nothing at EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto newline = pending_.find('\n'); newline != std::string::npos) {
        std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return line;
      }
      if (!read_more(deadline)) return std::nullopt;
    }
  }
  // Everything until the child closes its output (exits), within `timeout`.
  std::string read_rest(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (read_more(deadline)) {
    }
    return std::exchange(pending_, {});
  }
  void signal(int number) { kill(pid_, number); }
  // The exit status (128 + signal when killed by one), once the output is closed.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  bool read_more(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{output_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    auto n = ::read(output_fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string pending_;
};

// "listening csta=127.0.0.1:4711 control=127.0.0.1:4712" -> the port after `key=HOST:`, or 0.
inline std::uint16_t port_in(const std::string& line, const std::string& key) {
  auto at = line.find(key + "=");
  if (at == std::string::npos) return 0;
  auto end = line.find(' ', at);
  auto start = at + key.size() + 1;
  auto address = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
}

// ----- requests ------------------------------------------------------------------------------------------

inline Message make(MessageKind kind) {
  Message m;
  m.kind = kind;
  return m;
}
inline Message monitor_start(const std::string& device) {
  auto m = make(MessageKind::monitor_start);
  m.device_id = device;
  return m;
}
inline Message deflect(const sdk::CallRef& call, const std::string& destination) {
  auto m = make(MessageKind::deflect_call);
  m.connection = call;
  m.new_destination = destination;
  return m;
}
inline Message clear_connection(const sdk::CallRef& call) {
  auto m = make(MessageKind::clear_connection);
  m.connection = call;
  return m;
}

}  // namespace switchboard::pbxsim::testing
