#include "csta_link.hpp"

#include <utility>

namespace switchboard::drivers::csta_driver {

namespace asio = sdk::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
}

CstaLink::CstaLink(sdk::Strand& strand, sdk::Logger& logger, std::size_t max_frame_bytes, Handlers handlers)
    : strand_(strand),
      logger_(logger),
      resolver_(strand),
      socket_(strand),
      decoder_(max_frame_bytes),
      handlers_(std::move(handlers)) {
  read_buffer_.resize(kReadChunk);
}

CstaLink::~CstaLink() { close(); }

void CstaLink::connect(const std::string& host, std::uint16_t port) {
  auto self = shared_from_this();
  resolver_.async_resolve(host, std::to_string(port), [this, self](boost::system::error_code ec,
                                                                   tcp::resolver::results_type endpoints) {
    if (closed_) return;
    if (ec) return fail("cannot resolve: " + ec.message());
    asio::async_connect(socket_, endpoints, [this, self](boost::system::error_code ec, const tcp::endpoint& peer) {
      if (closed_) return;
      if (ec) return fail("cannot connect: " + ec.message());
      boost::system::error_code ignored;
      socket_.set_option(tcp::no_delay(true), ignored);  // requests are small and latency is the point
      socket_.set_option(asio::socket_base::keep_alive(true), ignored);
      open_ = true;
      peer_ = peer.address().to_string() + ":" + std::to_string(peer.port());
      if (handlers_.connected) handlers_.connected();
      if (!closed_) read_more();
    });
  });
}

bool CstaLink::send(std::uint16_t invoke_id, std::string_view body) {
  if (!open_ || closed_) return false;
  auto frame = csta::encode_frame(invoke_id, body);
  if (!frame) {
    logger_.error("frame not sent invoke_id={:04} error=\"{}\"", invoke_id, frame.error().message);
    return false;
  }
  queued_ += *frame;
  if (writing_.empty()) write_more();
  return true;
}

void CstaLink::write_more() {
  if (queued_.empty() || closed_) return;
  writing_.swap(queued_);
  queued_.clear();
  asio::async_write(socket_, asio::buffer(writing_), [this, self = shared_from_this()](boost::system::error_code ec,
                                                                                          std::size_t) {
    if (closed_) return;
    if (ec) return fail("write failed: " + ec.message());
    writing_.clear();
    write_more();
  });
}

void CstaLink::read_more() {
  socket_.async_read_some(asio::buffer(read_buffer_), [this, self = shared_from_this()](boost::system::error_code ec,
                                                                                           std::size_t n) {
    if (closed_) return;
    if (ec) return fail(ec == asio::error::eof ? "the switch closed the connection" : "read failed: " + ec.message());
    decoder_.feed(std::string_view(read_buffer_.data(), n));
    while (auto frame = decoder_.next_view()) {
      handlers_.frame(*frame);
      if (closed_) return;  // the owner reset the link while handling the frame
    }
    if (decoder_.failed()) {
      const auto& error = decoder_.error();
      logger_.debug("malformed frame bytes=\"{}\"", error.offending_hex);
      return fail("malformed frame: " + error.message);
    }
    read_more();
  });
}

void CstaLink::fail(std::string reason) {
  if (closed_) return;
  auto closed = std::move(handlers_.closed);
  close();
  if (closed) closed(std::move(reason));
}

void CstaLink::close() {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  handlers_ = {};
  boost::system::error_code ignored;
  resolver_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace switchboard::drivers::csta_driver
