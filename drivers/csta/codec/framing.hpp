// CSTA XML framing without SOAP (ECMA-323 Annex J.2): an 8-byte header, then the XML body.
//   bytes 0-1  0x00 0x00          format indicator (plain XML)
//   bytes 2-3  big-endian uint16  length of the WHOLE frame, header included
//   bytes 4-7  4 ASCII digits     invokeID; 9999 marks an unsolicited event
// The framer is kept apart from the message codec so other framings (NUL-terminated, WebSocket) can
// replace it without touching the XML side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "switchboard/sdk/result.hpp"

namespace switchboard::csta {

inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::size_t kMaxFrameBytes = 65535;  // the length field is 16 bits
inline constexpr std::size_t kMaxBodyBytes = kMaxFrameBytes - kFrameHeaderBytes;
inline constexpr std::uint16_t kEventInvokeId = 9999;
inline constexpr std::uint16_t kMaxRequestInvokeId = 9998;

struct Frame {
  std::uint16_t invoke_id = 0;  // 0..9999
  std::string body;             // encoded bytes exactly as received

  bool is_event() const noexcept { return invoke_id == kEventInvokeId; }
  friend bool operator==(const Frame&, const Frame&) = default;
};

// A frame still in the decoder's buffer: valid until the decoder is next fed, asked or reset.
struct FrameView {
  std::uint16_t invoke_id = 0;
  std::string_view body;

  bool is_event() const noexcept { return invoke_id == kEventInvokeId; }
};

enum class FrameErrorKind {
  bad_format_indicator,   // bytes 0-1 not zero: not plain CSTA XML, or we lost sync
  length_too_small,       // < 8: cannot even hold the header
  length_too_large,       // above the decoder's configured maximum
  invoke_id_not_digits,
};

struct FrameError {
  FrameErrorKind kind = FrameErrorKind::bad_format_indicator;
  std::string message;        // one line for the log: what was wrong and the value seen
  std::string offending_hex;  // the header bytes (and a little after) as "00 01 …", for a DEBUG log
};

const char* to_string(FrameErrorKind kind) noexcept;

// Space-separated lowercase hex of at most `limit` bytes, "…" appended when truncated.
std::string hex_dump(std::string_view bytes, std::size_t limit = 64);

// Reassembles frames from arbitrary chunks (TCP splits and coalesces). Usage:
//   decoder.feed(chunk);
//   while (auto frame = decoder.next()) handle(*frame);
//   if (decoder.failed()) { log(decoder.error()); reset the connection; decoder.reset(); }
// After an error the byte stream has no trustworthy frame boundary any more, so the decoder refuses
// all input until reset(): resynchronising by guessing would turn one bad frame into misread messages.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_bytes = kMaxFrameBytes);

  void feed(std::string_view bytes);
  std::optional<Frame> next();
  // The same without copying the body out (a reader that handles each frame at once).
  std::optional<FrameView> next_view();

  bool failed() const noexcept { return error_.has_value(); }
  const FrameError& error() const { return *error_; }
  std::size_t buffered_bytes() const noexcept { return buffer_.size() - read_pos_; }
  void reset() noexcept;

 private:
  void fail(FrameErrorKind kind, std::string message);

  std::size_t max_frame_bytes_;
  std::string buffer_;
  std::size_t read_pos_ = 0;  // consumed prefix of buffer_, compacted lazily to avoid a memmove per frame
  std::optional<FrameError> error_;
};

// Header + body. Fails when the invoke id is above 9999 or the body does not fit a 65535-byte frame.
// The length counts encoded bytes (std::string::size), never characters.
sdk::Result<std::string> encode_frame(std::uint16_t invoke_id, std::string_view body);

// Invoke ids for our own requests: 0000..9998 then back to 0000; 9999 is reserved for events.
// Correlating responses and timing out stale ids is the driver's job (it knows what is outstanding).
class InvokeIdAllocator {
 public:
  std::uint16_t next() noexcept {
    const std::uint16_t id = next_;
    next_ = next_ == kMaxRequestInvokeId ? 0 : static_cast<std::uint16_t>(next_ + 1);
    return id;
  }

 private:
  std::uint16_t next_ = 0;
};

}  // namespace switchboard::csta
