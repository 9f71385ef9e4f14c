#include "client_connection.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace switchboard::pbxsim {
namespace {

namespace asio = sdk::asio;
using error_code = boost::system::error_code;

// A client that stops reading while events keep coming would grow the queue without bound.
constexpr std::size_t kMaxQueuedBytes = 64u * 1024 * 1024;

std::string peer_of(const asio::ip::tcp::socket& socket) {
  error_code error;
  auto endpoint = socket.remote_endpoint(error);
  if (error) return "unknown";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

}  // namespace

ClientConnection::ClientConnection(Owner& owner, asio::ip::tcp::socket socket, std::uint64_t number,
                                   Supervision supervision, std::shared_ptr<spdlog::logger> log)
    : owner_(owner),
      log_(std::move(log)),
      socket_(std::move(socket)),
      number_(number),
      supervision_(supervision),
      peer_(peer_of(socket_)),
      poll_timer_(socket_.get_executor()),
      session_timer_(socket_.get_executor()) {}

void ClientConnection::start() {
  error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // events are small and latency matters
  read();
  schedule_poll();
}

void ClientConnection::read() {
  socket_.async_read_some(asio::buffer(read_buffer_), [self = shared_from_this()](const error_code& error,
                                                                                   std::size_t bytes) {
    if (!self->open_) return;
    if (error) {
      self->close(error == asio::error::eof ? "the client closed the connection" : error.message());
      return;
    }
    self->decoder_.feed(std::string_view(self->read_buffer_.data(), bytes));
    while (self->open_) {
      auto frame = self->decoder_.next_view();
      if (!frame) break;
      self->owner_.on_frame(*self, *frame);
    }
    if (!self->open_) return;
    if (self->decoder_.failed()) {
      const auto& failure = self->decoder_.error();
      self->log_->warn("framing error client={} error=\"{}\" bytes=\"{}\"", self->number_, failure.message,
                       failure.offending_hex);
      self->close("framing error");
      return;
    }
    self->read();
  });
}

void ClientConnection::send(std::uint16_t invoke_id, const csta::Message& message, std::int64_t load_call) {
  if (!open_ || owner_.silent()) return;
  auto body = csta::encode_message(message);
  if (!body) {
    log_->error("cannot encode client={} kind={} error=\"{}\"", number_, csta::to_string(message.kind),
                body.error().message);
    return;
  }
  auto frame = csta::encode_frame(invoke_id, *body);
  if (!frame) {
    log_->error("cannot frame client={} kind={} error=\"{}\"", number_, csta::to_string(message.kind),
                frame.error().message);
    // An answer too big for one frame (a snapshot of a device with thousands of calls) is refused, as a switch
    // would, rather than left unanswered: the client must not wait out its request timeout for it.
    if (invoke_id != csta::kEventInvokeId && message.kind != csta::MessageKind::csta_error_code) {
      csta::Message refusal;
      refusal.kind = csta::MessageKind::csta_error_code;
      refusal.error_category = "systemResourceAvailability";
      refusal.error_value = "generic";
      send(invoke_id, refusal);
    }
    return;
  }
  log_->debug("tx client={} invoke={:04d} kind={}", number_, invoke_id, csta::to_string(message.kind));
  send_raw(*frame);
  if (load_call >= 0 && open_) load_calls_queued_.push_back(static_cast<std::uint32_t>(load_call));
}

void ClientConnection::send_raw(std::string_view bytes) {
  if (!open_ || overflowed_) return;
  if (outgoing_.size() + bytes.size() > kMaxQueuedBytes) {
    // Closed from a handler of its own: the sender may be walking the monitors this close would remove.
    overflowed_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->close(fmt::format("the client does not read: {} bytes queued", self->outgoing_.size()));
    });
    return;
  }
  outgoing_.append(bytes);
  if (write_in_flight_ || flush_posted_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void ClientConnection::flush() {
  if (!open_ || write_in_flight_ || outgoing_.empty()) return;
  if (!load_calls_queued_.empty()) {
    owner_.on_load_frames_written(load_calls_queued_);
    load_calls_queued_.clear();
  }
  writing_.swap(outgoing_);  // both keep their capacity: no allocation once warmed up
  outgoing_.clear();
  write_in_flight_ = true;
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const error_code& error, std::size_t) {
                      self->write_in_flight_ = false;
                      self->writing_.clear();
                      if (!self->open_) return;
                      if (error) {
                        self->close("write failed: " + error.message());
                        return;
                      }
                      self->flush();
                    });
}

void ClientConnection::close(std::string_view reason) {
  if (!open_) return;
  open_ = false;
  log_->info("client closed client={} peer={} reason=\"{}\"", number_, peer_, reason);
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  poll_timer_.cancel();
  session_timer_.cancel();
  owner_.on_closed(*this);
}

void ClientConnection::schedule_poll() {
  if (supervision_.status_interval.count() <= 0) return;
  poll_timer_.expires_after(supervision_.status_interval);
  poll_timer_.async_wait([self = shared_from_this()](const error_code& error) {
    if (error || !self->open_) return;
    self->poll();
  });
}

void ClientConnection::poll() {
  if (!owner_.silent()) {
    if (static_cast<int>(outstanding_polls_.size()) >= supervision_.status_misses) {
      log_->warn("status polls unanswered client={} peer={} misses={}", number_, peer_, outstanding_polls_.size());
      close(fmt::format("{} status polls unanswered", outstanding_polls_.size()));
      return;
    }
    auto invoke_id = next_invoke_id();
    outstanding_polls_.push_back(invoke_id);
    csta::Message poll;
    poll.kind = csta::MessageKind::system_status;
    poll.system_status = "normal";
    send(invoke_id, poll);
  }
  schedule_poll();
}

void ClientConnection::status_answered(std::uint16_t invoke_id) {
  if (std::find(outstanding_polls_.begin(), outstanding_polls_.end(), invoke_id) == outstanding_polls_.end()) {
    log_->debug("unexpected SystemStatusResponse client={} invoke={:04d}", number_, invoke_id);
    return;
  }
  outstanding_polls_.clear();
}

void ClientConnection::resume_supervision() {
  outstanding_polls_.clear();
  if (session_duration_.count() > 0) schedule_session_expiry();
}

void ClientConnection::arm_session(std::chrono::seconds duration) {
  session_duration_ = duration;
  if (duration.count() > 0) {
    schedule_session_expiry();
  } else {
    session_timer_.cancel();
  }
}

void ClientConnection::schedule_session_expiry() {
  session_timer_.expires_after(session_duration_);
  session_timer_.async_wait([self = shared_from_this()](const error_code& error) {
    if (error || !self->open_) return;
    if (self->owner_.silent()) {  // its resets were discarded: a hung link does not end the session
      self->schedule_session_expiry();
      return;
    }
    self->log_->warn("session expired client={} peer={} session={}", self->number_, self->peer_,
                     self->session_id);
    self->close("the application session expired");
  });
}

}  // namespace switchboard::pbxsim
