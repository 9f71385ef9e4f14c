// A simulated PBX for a call centre: calls from customers arrive on project numbers, operators answer after
// a delay or not at all, callers hang up when nobody answers. It knows nothing of the plugin host: time comes
// from a Scheduler and events leave through a sink, so the `sim` driver and a CSTA simulator server can both
// drive the same model.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "switchboard/sdk/driver.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sim {

using Duration = std::chrono::nanoseconds;

// A callback scheduled for later; cancel() or destroying the handle guarantees it will not run.
class ScheduledTask {
 public:
  virtual ~ScheduledTask() = default;
  virtual void cancel() = 0;
};

// The model's only source of time, so the same model runs in real time or in virtual time.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::unique_ptr<ScheduledTask> schedule(Duration delay, std::function<void()> task) = 0;
  // Wall time, stamped on every event.
  virtual sdk::TimePoint now() const = 0;
};

struct PbxModelSettings {
  std::uint64_t seed = 1;
  double speed = 1.0;              // every duration below is divided by it before it is scheduled
  double calls_per_minute = 20;    // mean arrival rate (exponential gaps); 0: only offer_call() brings calls
  std::uint64_t max_calls = 0;     // generated arrivals in all; 0: unlimited
  double known_callers = 0.75;     // share of calls from a known caller (when any is known)
  double withheld_callers = 0.05;  // share of calls without a number; the rest come from random mobiles
  double answer_probability = 0.85;
  std::chrono::milliseconds answer_delay_min{2'000};
  std::chrono::milliseconds answer_delay_max{8'000};
  std::chrono::milliseconds talk_time_min{20'000};
  std::chrono::milliseconds talk_time_max{180'000};
  std::chrono::milliseconds abandon_min{15'000};  // the caller's patience, counted from arrival
  std::chrono::milliseconds abandon_max{60'000};
  double offline_operators = 0.1;  // share of the operators that start logged out (rounded)
};

// A customer's number and the project it calls (empty: any project).
struct KnownCaller {
  std::string number;
  std::string project;
};

// Uniform and exponential draws written out by hand: std's distributions differ between standard
// libraries, and a seed must give the same run on every build.
class RandomStream {
 public:
  explicit RandomStream(std::uint64_t seed);
  double uniform();  // [0, 1)
  bool chance(double probability) { return uniform() < probability; }
  std::size_t index(std::size_t size) { return static_cast<std::size_t>(uniform() * static_cast<double>(size)); }
  Duration between(Duration low, Duration high);
  Duration exponential(Duration mean);

 private:
  std::mt19937_64 engine_;
};

// Events come out as the SDK's normalised CallEvent and DeviceEvent, with `driver` left empty for the
// user of the model to fill in. Only operator extensions change state: a project number holds any number
// of waiting calls and always reads idle. Not thread-safe: call it from one strand.
class PbxModel {
 public:
  using EventSink = std::function<void(sdk::Event)>;

  PbxModel(PbxModelSettings settings, Scheduler& scheduler, EventSink sink);
  PbxModel(const PbxModel&) = delete;
  PbxModel& operator=(const PbxModel&) = delete;

  // The numbers calls arrive on. A number that was an operator becomes a project.
  void set_projects(const std::vector<std::string>& numbers);
  void set_known_callers(std::vector<KnownCaller> callers);
  // Creates extensions for the numbers not known yet (operators: idle, or logged out for the configured
  // share) and reports every given device's state as a DeviceEvent.
  void add_devices(const std::vector<std::string>& numbers);
  // Logs an operator in or out (DeviceEvent); false when the number is no operator or has a call.
  bool set_logged_in(const std::string& device, bool logged_in);

  // Generated arrivals start and stop with the model. stop() cancels every timer and forgets every call
  // without events (the link is gone); devices return to idle, logged-out operators stay out.
  void start();
  void stop();
  bool running() const noexcept { return running_; }

  // A call from `caller` (empty: withheld) arrives at project `project` now. Its id, or nothing when
  // `project` is not a project number.
  std::optional<std::string> offer_call(const std::string& project, const std::string& caller);
  // The call engine's requests. `done` runs once, before the events the request causes.
  // deflect: refused (not alerting at call.device), unavailable (destination offline or unknown),
  // busy (destination ringing or busy), invalid_argument (the call already alerts at that project).
  void deflect(const sdk::CallRef& call, const std::string& destination, const sdk::Completion& done);
  // Moves a call answered at call.device to `destination`, where it rings again (a single-step transfer):
  // ConnectionCleared at call.device, then Delivered at the destination, both with cause "transfer"; the
  // call keeps its id. Errors as for deflect, except refused (not answered at call.device) and
  // invalid_argument (the destination is call.device). The caller's patience starts again, drawn from the
  // behaviour stream so the offered traffic stays the same whatever is transferred.
  void transfer(const sdk::CallRef& call, const std::string& destination, const sdk::Completion& done);
  // Ends the call, alerting or answered, at call.device; refused when it is not there.
  void clear(const sdk::CallRef& call, const sdk::Completion& done);
  std::optional<sdk::DeviceSnapshot> snapshot(const std::string& device) const;

  const std::vector<std::string>& projects() const noexcept { return projects_; }
  std::vector<std::string> operators() const;
  std::vector<std::string> offline_operators() const;
  std::uint64_t generated_calls() const noexcept { return generated_; }
  std::size_t active_calls() const noexcept { return calls_.size(); }

 private:
  struct Device {
    bool project = false;
    bool offline = false;
    std::string call;  // an operator's one call; empty when free
  };
  struct Call {
    std::uint64_t sequence = 0;
    std::string id;
    std::string caller;
    std::string called;       // the project dialled
    std::string device;       // where it alerts or is answered now
    std::string redirecting;  // the device it was last deflected from
    bool answered = false;
    Duration talk_time{};
    std::unique_ptr<ScheduledTask> operator_timer;  // the answer, then the end of the conversation
    std::unique_ptr<ScheduledTask> caller_timer;    // the caller's patience while unanswered
  };

  Duration scaled(Duration model_time) const;
  void schedule_arrival();
  void generate_call();
  std::string random_mobile_number();
  std::string open_call(const std::string& project, const std::string& caller);
  void ring_operator(Call& call);
  void answer(const std::string& call_id);
  void end_conversation(const std::string& call_id);
  void caller_hangs_up(const std::string& call_id);
  // Clears the call at its device with `releasing` as the device that left, and forgets it.
  void finish(const std::string& call_id, const std::string& releasing);

  sdk::DeviceState state_of(const Device& device) const;
  sdk::CallEvent call_event(sdk::CallEventType type, const Call& call, const std::string& device) const;
  void emit_device(const std::string& number);

  PbxModelSettings settings_;
  Scheduler& scheduler_;
  EventSink sink_;
  // Two streams, so the offered calls (arrivals, callers, patience, talk times) are the same whatever
  // the routing does with them: what-if runs compare strategies on identical traffic.
  RandomStream arrivals_;
  RandomStream behaviour_;  // who is logged out, whether and when operators answer
  std::vector<std::string> projects_;
  std::vector<KnownCaller> known_callers_;
  std::map<std::string, Device> devices_;
  std::map<std::string, Call> calls_;
  std::unique_ptr<ScheduledTask> arrival_timer_;
  bool running_ = false;
  std::uint64_t generated_ = 0;
  std::uint64_t last_call_ = 0;  // ids stay unique across stop() and start()
  std::size_t operators_created_ = 0;
  std::size_t operators_logged_out_ = 0;  // by offline_operators, not by set_logged_in()
};

}  // namespace switchboard::sim
