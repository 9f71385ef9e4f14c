#include "codec/framing.hpp"

#include <fmt/format.h>

namespace switchboard::csta {

const char* to_string(FrameErrorKind kind) noexcept {
  switch (kind) {
    case FrameErrorKind::bad_format_indicator: return "bad format indicator";
    case FrameErrorKind::length_too_small: return "length too small";
    case FrameErrorKind::length_too_large: return "length too large";
    case FrameErrorKind::invoke_id_not_digits: return "invoke id not digits";
  }
  return "unknown";
}

std::string hex_dump(std::string_view bytes, std::size_t limit) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::size_t shown = bytes.size() < limit ? bytes.size() : limit;
  std::string out;
  out.reserve(shown * 3 + 4);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    if (i != 0) out += ' ';
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0x0f];
  }
  if (shown < bytes.size()) out += " …";
  return out;
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes)
    : max_frame_bytes_(max_frame_bytes < kMaxFrameBytes ? max_frame_bytes : kMaxFrameBytes) {}

void FrameDecoder::feed(std::string_view bytes) {
  if (error_) return;
  if (read_pos_ != 0 && read_pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, read_pos_);
    read_pos_ = 0;
  }
  buffer_.append(bytes);
}

void FrameDecoder::fail(FrameErrorKind kind, std::string message) {
  // The header plus the start of the body usually shows what the peer really sent (HTTP, TLS, ASN.1).
  error_ = FrameError{kind, std::move(message),
                      hex_dump(std::string_view(buffer_).substr(read_pos_), 32)};
}

std::optional<Frame> FrameDecoder::next() {
  auto view = next_view();
  if (!view) return std::nullopt;
  return Frame{view->invoke_id, std::string(view->body)};
}

std::optional<FrameView> FrameDecoder::next_view() {
  if (error_ || buffered_bytes() < kFrameHeaderBytes) return std::nullopt;
  const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + read_pos_);
  if (header[0] != 0 || header[1] != 0) {
    fail(FrameErrorKind::bad_format_indicator,
         fmt::format("format indicator is {:02x} {:02x}, expected 00 00", header[0], header[1]));
    return std::nullopt;
  }
  const std::size_t length = (std::size_t{header[2]} << 8) | header[3];
  if (length < kFrameHeaderBytes) {
    fail(FrameErrorKind::length_too_small, fmt::format("frame length {} is below the 8-byte header", length));
    return std::nullopt;
  }
  if (length > max_frame_bytes_) {
    fail(FrameErrorKind::length_too_large,
         fmt::format("frame length {} exceeds the limit of {} bytes", length, max_frame_bytes_));
    return std::nullopt;
  }
  std::uint16_t invoke_id = 0;
  for (int i = 4; i < 8; ++i) {
    if (header[i] < '0' || header[i] > '9') {
      fail(FrameErrorKind::invoke_id_not_digits,
           fmt::format("invoke id byte {} is 0x{:02x}, expected an ASCII digit", i - 4, header[i]));
      return std::nullopt;
    }
    invoke_id = static_cast<std::uint16_t>(invoke_id * 10 + (header[i] - '0'));
  }
  if (buffered_bytes() < length) return std::nullopt;
  FrameView frame{invoke_id, std::string_view(buffer_).substr(read_pos_ + kFrameHeaderBytes, length - kFrameHeaderBytes)};
  read_pos_ += length;  // feed() drops what was read, once the frame has been handled
  return frame;
}

void FrameDecoder::reset() noexcept {
  buffer_.clear();
  read_pos_ = 0;
  error_.reset();
}

sdk::Result<std::string> encode_frame(std::uint16_t invoke_id, std::string_view body) {
  if (invoke_id > kEventInvokeId) {
    return sdk::Error{sdk::ErrorCode::invalid_argument,
                      fmt::format("invoke id {} is outside 0000..9999", invoke_id)};
  }
  if (body.size() > kMaxBodyBytes) {
    return sdk::Error{sdk::ErrorCode::invalid_argument,
                      fmt::format("CSTA body of {} bytes exceeds the {}-byte frame limit", body.size(),
                                  kMaxFrameBytes)};
  }
  const std::size_t length = kFrameHeaderBytes + body.size();
  std::string frame;
  frame.reserve(length);
  frame += '\0';
  frame += '\0';
  frame += static_cast<char>((length >> 8) & 0xff);
  frame += static_cast<char>(length & 0xff);
  frame += fmt::format("{:04d}", invoke_id);
  frame.append(body);
  return frame;
}

}  // namespace switchboard::csta
