// One CSTA client on the switch side: the socket, ECMA-323 framing both ways, the write queue, and the
// timers of link supervision (pbxsim's SystemStatus polls, the ECMA-354 session duration). What a frame
// means is the server's business: every complete frame goes to ClientConnection::Owner::on_frame.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "codec/framing.hpp"
#include "codec/message.hpp"
#include "switchboard/sdk/asio.hpp"

namespace switchboard::pbxsim {

class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    virtual void on_frame(ClientConnection& client, const csta::FrameView& frame) = 0;
    virtual void on_closed(ClientConnection& client) = 0;
    // Silent: nothing is sent, polls and the session clock pause (a hung link, not a dead one).
    virtual bool silent() const = 0;
    // The Delivered frames of load calls are stamped when their buffer goes to the socket.
    virtual void on_load_frames_written(const std::vector<std::uint32_t>& load_calls) = 0;
  };

  struct Supervision {
    std::chrono::milliseconds status_interval{0};  // 0: no polls
    int status_misses = 2;
  };

  ClientConnection(Owner& owner, sdk::asio::ip::tcp::socket socket, std::uint64_t number, Supervision supervision,
                   std::shared_ptr<spdlog::logger> log);

  void start();
  // Encodes and queues one frame; dropped while the server is silent. `load_call` marks the Delivered of a
  // load call, so its written time is taken when the frame leaves.
  void send(std::uint16_t invoke_id, const csta::Message& message, std::int64_t load_call = -1);
  // Bytes as they are, even while silent: fault injection (a malformed frame).
  void send_raw(std::string_view bytes);
  void close(std::string_view reason);
  bool is_open() const noexcept { return open_; }

  // A SystemStatusResponse from the client: any answer to an outstanding poll proves the link alive.
  void status_answered(std::uint16_t invoke_id);
  // After `silent off`: misses and the session clock start afresh.
  void resume_supervision();
  // ECMA-354: the session lasts `duration` from now unless reset; 0 ends session supervision.
  void arm_session(std::chrono::seconds duration);

  std::uint16_t next_invoke_id() noexcept { return invoke_ids_.next(); }
  std::uint64_t number() const noexcept { return number_; }
  const std::string& peer() const noexcept { return peer_; }

  // Protocol state kept by the server, per client.
  std::string session_id;                                // empty: no session
  std::map<std::string, std::string> monitor_by_device;  // device -> monitorCrossRefID
  std::set<std::string> devices_watched;  // monitored (or route-registered) at least once: set-up progress
  bool set_up = false;

 private:
  void read();
  void flush();
  void schedule_poll();
  void poll();
  void schedule_session_expiry();

  Owner& owner_;
  std::shared_ptr<spdlog::logger> log_;
  sdk::asio::ip::tcp::socket socket_;
  std::uint64_t number_;
  Supervision supervision_;
  std::string peer_;
  bool open_ = true;

  std::array<char, 64 * 1024> read_buffer_{};
  csta::FrameDecoder decoder_;

  // Frames queued while a write is in flight (or before the posted flush runs) go out together in one
  // write: one socket write per handler run, however many events it produced.
  std::string outgoing_;
  std::string writing_;
  bool write_in_flight_ = false;
  bool flush_posted_ = false;
  bool overflowed_ = false;
  std::vector<std::uint32_t> load_calls_queued_;

  csta::InvokeIdAllocator invoke_ids_;
  std::vector<std::uint16_t> outstanding_polls_;
  sdk::asio::steady_timer poll_timer_;
  std::chrono::seconds session_duration_{0};
  sdk::asio::steady_timer session_timer_;
};

}  // namespace switchboard::pbxsim
