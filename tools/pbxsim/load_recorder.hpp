// Load mode's book-keeping: each offered call, when it was scheduled to be sent (start + i / rate), when
// its first announcement (Delivered or RouteRequest) left for the client, when the client's routing request
// (DeflectCall or RouteSelect) came back, and the report made of them. Latency counts from the scheduled
// time, so a generator that falls behind cannot hide latency (coordinated omission).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::pbxsim {

struct LoadOptions {
  std::uint64_t calls = 0;
  double rate = 0;          // offered calls per second
  std::string report_json;  // empty: no file
  std::chrono::milliseconds decision_timeout{2'000};  // a call not routed by then is an error
  std::chrono::milliseconds setup_timeout{30'000};    // no client set up by then: exit 1
};

struct LoadReport {
  std::uint64_t offered = 0;
  std::uint64_t routed = 0;         // calls whose DeflectCall / RouteSelect succeeded in time
  std::uint64_t errors = 0;         // the others: refused (and never routed) or not routed in time
  std::uint64_t error_answers = 0;  // CSTAErrorCode / ReRoute answers to routing requests, retried or not
  double seconds = 0;               // first offer to the last call decided or timed out
  double rate = 0;                  // routed / seconds
  double requested_rate = 0;
  struct Latency {
    double p50 = 0, p90 = 0, p99 = 0, p99_9 = 0, max = 0;
  };
  // Over routed calls only, nearest rank:
  Latency latency_us;        // scheduled send time -> successful routing request received
  Latency write_latency_us;  // announcement written to the socket -> routing request received
  Latency send_lag_us;       // scheduled send time -> announcement written (pbxsim's own lateness)

  std::string to_json() const;
  std::string summary() const;  // a few lines for a person
};

class LoadRecorder {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LoadRecorder(std::uint64_t calls);

  // A call is about to be offered (at `offered_at`, scheduled for `scheduled_at`); its index. bind() names
  // it once the model has given it an id.
  std::uint32_t add(std::string project, Clock::time_point scheduled_at, Clock::time_point offered_at);
  void bind(std::uint32_t index, const std::string& call_id);
  std::optional<std::uint32_t> find(std::string_view call_id) const;
  const std::string& project_of(std::uint32_t index) const { return calls_[index].project; }
  const std::string& call_id_of(std::uint32_t index) const { return calls_[index].call_id; }
  bool pending(std::uint32_t index) const { return calls_[index].state == State::pending; }

  void written(std::uint32_t index, Clock::time_point at);  // the first write counts
  void routed(std::uint32_t index, Clock::time_point received_at);
  void error_answer() { ++error_answers_; }
  // Calls still pending that were offered before `deadline`, oldest first: each becomes an error and is
  // handed to `expired` (to be cleared).
  void expire(Clock::time_point deadline, const std::function<void(std::uint32_t)>& expired);

  std::uint64_t offered() const noexcept { return calls_.size(); }
  bool all_decided() const noexcept { return decided_ == calls_.size(); }
  LoadReport report(Clock::time_point end, double requested_rate) const;

 private:
  enum class State : std::uint8_t { pending, routed, failed };
  struct Call {
    std::string call_id;
    std::string project;
    Clock::time_point scheduled_at;  // start + i / rate: when it should have been sent
    Clock::time_point offered_at;    // when it was offered (decision timeout, seconds)
    Clock::time_point written_at;  // epoch: never written
    Clock::time_point routed_at;
    State state = State::pending;
  };

  std::vector<Call> calls_;
  std::unordered_map<std::string, std::uint32_t> index_by_call_id_;
  std::size_t oldest_pending_ = 0;  // expire() scans from here: calls are offered in time order
  std::uint64_t decided_ = 0;
  std::uint64_t error_answers_ = 0;
};

}  // namespace switchboard::pbxsim
