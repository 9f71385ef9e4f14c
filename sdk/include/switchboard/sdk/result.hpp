// Result and Status: how every operation reports success or a message a person can act on.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace switchboard::sdk {

enum class ErrorCode {
  failed,          // generic failure; the message says why
  invalid_argument,
  not_found,
  not_supported,   // the instance lacks this capability
  refused,         // the peer (PBX, database) said no
  busy,            // the target is busy
  timeout,
  unavailable,     // link down, database unreachable
  cancelled,       // the instance is stopping
  conflict,
};

const char* to_string(ErrorCode code) noexcept;

struct Error {
  ErrorCode code = ErrorCode::failed;
  std::string message;
};

inline const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::failed: return "failed";
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::not_found: return "not found";
    case ErrorCode::not_supported: return "not supported";
    case ErrorCode::refused: return "refused";
    case ErrorCode::busy: return "busy";
    case ErrorCode::timeout: return "timeout";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::conflict: return "conflict";
  }
  return "unknown";
}

// A value or an error (std::expected arrives only in C++23).
template <class T>
class Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Success or an error.
class Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status success() { return {}; }
  bool ok() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

// Completion callbacks: called exactly once, on the strand of the instance that does the work. A caller on
// another strand wraps its callback with asio::bind_executor(its own strand, callback) to get it back there.
using Completion = std::function<void(Status)>;
template <class T>
using ResultCallback = std::function<void(Result<T>)>;

}  // namespace switchboard::sdk
