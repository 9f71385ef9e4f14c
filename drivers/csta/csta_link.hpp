// One TCP connection to the switch: connect, frames in, frames out. It knows the framing and nothing of
// CSTA messages, so another framing (NUL-terminated, WebSocket) replaces this class alone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "codec/framing.hpp"
#include "switchboard/sdk/asio.hpp"
#include "switchboard/sdk/logger.hpp"

namespace switchboard::drivers::csta_driver {

// Every handler runs on the strand given to the constructor. After close() (by either side) no handler
// runs any more, so the owner may forget the link at once.
class CstaLink : public std::enable_shared_from_this<CstaLink> {
 public:
  struct Handlers {
    std::function<void()> connected;
    std::function<void(const csta::FrameView&)> frame;  // the frame is valid during the call only
    std::function<void(std::string reason)> closed;  // once; not after the owner's own close()
  };

  CstaLink(sdk::Strand& strand, sdk::Logger& logger, std::size_t max_frame_bytes, Handlers handlers);
  ~CstaLink();
  CstaLink(const CstaLink&) = delete;
  CstaLink& operator=(const CstaLink&) = delete;

  // Resolves and connects; `closed` reports a failure. The deadline is the owner's (it owns the clock).
  void connect(const std::string& host, std::uint16_t port);
  // Queues one frame; frames queued while a write is in flight leave together in the next write.
  // False (and nothing sent) when the body does not fit a frame or the link is not open.
  bool send(std::uint16_t invoke_id, std::string_view body);
  // Closes the socket; no handler runs afterwards.
  void close();
  bool open() const noexcept { return open_; }
  std::string peer() const { return peer_; }

 private:
  void read_more();
  void write_more();
  void fail(std::string reason);

  sdk::Strand& strand_;
  sdk::Logger& logger_;
  sdk::asio::ip::tcp::resolver resolver_;
  sdk::asio::ip::tcp::socket socket_;
  csta::FrameDecoder decoder_;
  Handlers handlers_;
  bool open_ = false;
  bool closed_ = false;
  std::string peer_;
  std::string read_buffer_;
  std::string queued_;   // frames waiting for the next write
  std::string writing_;  // the bytes of the write in flight
};

}  // namespace switchboard::drivers::csta_driver
