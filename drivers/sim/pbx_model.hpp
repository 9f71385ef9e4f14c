// A simulated PBX for a call centre: calls from customers arrive on project numbers, operators answer after
// a delay or not at all, callers hang up when nobody answers. It knows nothing of the plugin host: time comes
// from a Scheduler and events leave through a sink, so the `sim` driver and a CSTA simulator server can both
// drive the same model. Its timers are the SDK's timer handles, so a Context's timers serve without a wrapper.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/driver.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sim {

using Duration = std::chrono::nanoseconds;

// A callback scheduled for later; cancel() or destroying the handle guarantees it will not run.
using ScheduledTask = sdk::TimerHandle;

// The model's only source of time, so the same model runs in real time or in virtual time.
class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::unique_ptr<ScheduledTask> schedule(Duration delay, std::function<void()> task) = 0;
  // Wall time, stamped on every event.
  virtual sdk::TimePoint now() const = 0;
};

// An operator dials `number` (a feature code, say) `after` the model starts; see PbxModel::dial.
struct ScheduledDial {
  std::chrono::milliseconds after{0};
  std::string from;
  std::string number;
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
  std::vector<ScheduledDial> dials;  // scripted, counted from every start(); scaled by speed like the rest
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
// of waiting calls and always reads idle. Not thread-safe: call it from one strand; the sink must not call
// back into the model.
class PbxModel {
 public:
  // The sink gets a function that makes the event rather than the event, so it can have the event made right
  // where it goes (e.g. the event bus's by-value parameter): an event is never copied or moved on its way.
  using EventMaker = std::function<sdk::Event()>;
  using EventSink = std::function<void(const EventMaker& make)>;

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
  // A PBX hunt group that rings all its members at once (ring-all). Its number is a device that holds no
  // call and reads idle, like a project; a number that was an operator or a project becomes the group.
  // Members need not be devices yet, and all start joined. Declaring a group again replaces its members.
  void set_hunt_group(const std::string& number, const std::vector<std::string>& members);
  // `member` joins or leaves `group`; false when the group is unknown or `member` is not one of its
  // members. A member that leaves keeps a call already ringing there.
  bool set_group_member(const std::string& group, const std::string& member, bool joined);
  // The hunt groups `member` belongs to, joined or not.
  std::vector<std::string> groups_of(const std::string& member) const;
  bool is_hunt_group(const std::string& number) const { return groups_.count(number) != 0; }

  // Generated arrivals start and stop with the model. stop() cancels every timer and forgets every call
  // without events (the link is gone); devices return to idle, logged-out operators stay out.
  void start();
  void stop();
  bool running() const noexcept { return running_; }

  // A call from `caller` (empty: withheld) arrives at project `project` now. Its id, or nothing when
  // `project` is not a project number.
  std::optional<std::string> offer_call(const std::string& project, const std::string& caller);
  // Operator `from` (logged in, no call) goes off-hook and dials `to`: an OriginatedEvent at `from`
  // (calling `from`, called `to`, local state initiated) and `from` reads busy until the call is cleared
  // there with clear({id, from}). Nothing rings, whatever `to` is: the model does not connect internal
  // calls, it only lets an operator dial feature codes. The call's id, or nothing when `from` is not an
  // idle, logged-in operator.
  std::optional<std::string> dial(const std::string& from, const std::string& to);
  // The call engine's requests. `done` runs once, before the events the request causes.
  // deflect: refused (not alerting at call.device), unavailable (destination offline or unknown),
  // busy (destination ringing or busy), invalid_argument (the call already alerts at that project).
  // A hunt group as destination rings every joined, logged-in, idle member at once: Diverted at
  // call.device, then Delivered at each member (in the order declared). The first to answer gets the call
  // (Established there), then every other member's ring ends (ConnectionCleared there, releasing device
  // that member). No member free: busy. While it rings at several members, the call may be deflected,
  // transferred or cleared from any of them, and it leaves all of them.
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
  // In number order.
  std::vector<std::string> operators() const;
  std::vector<std::string> offline_operators() const;
  std::uint64_t generated_calls() const noexcept { return generated_; }
  std::size_t active_calls() const noexcept { return calls_.size(); }

 private:
  struct Device {
    bool project = false;
    bool group = false;  // a hunt group's number
    bool offline = false;
    std::uint64_t call = 0;  // an operator's one call (its sequence); 0 when free
  };
  // A device and its number. Entries never move or go away, so a timer may hold a pointer to one.
  using DeviceEntry = std::pair<const std::string, Device>;
  struct GroupMember {
    std::string number;
    bool joined = true;
  };
  struct Call {
    std::uint64_t sequence = 0;  // its key in calls_; the id is "sim-" and the sequence
    std::string id;
    std::string caller;
    std::string called;       // the project dialled
    std::string device;       // where it alerts or is answered now
    std::string redirecting;  // the device it was last deflected from
    bool answered = false;
    bool originated = false;  // dialled by an operator (dial()): held at that operator until cleared
    Duration talk_time{};
    std::unique_ptr<ScheduledTask> operator_timer;  // the answer, then the end of the conversation
    std::unique_ptr<ScheduledTask> caller_timer;    // the caller's patience while unanswered
    // Ring-all: the members it rings at while `device` is the hunt group, and each one's answer.
    std::vector<std::string> ringing;
    std::vector<std::unique_ptr<ScheduledTask>> member_timers;  // per entry of `ringing`
  };

  Duration scaled(Duration model_time) const;
  void schedule_arrival();
  void generate_call();
  std::string random_mobile_number();
  std::string open_call(const std::string& project, std::string caller);
  Call* find_call(std::string_view id);
  Call* find_call(std::uint64_t sequence);
  // The device `destination` if it can take a call, or why not; for a hunt group, fills `members` with the
  // free ones.
  sdk::Result<DeviceEntry*> check_destination(const std::string& destination, std::vector<std::string>& members);
  // The call leaves where it alerts or talks now (without events) and rings at `destination` (or its
  // members); the Delivered events are left to the caller.
  void move_call(Call& call, DeviceEntry& destination, std::vector<std::string> members);
  void emit_delivered(const Call& call, const char* cause);
  // Devices the call rings at or is answered at: its device, or its members while it rings a group. A view
  // into the call: it changes when the call moves.
  static std::span<const std::string> devices_of(const Call& call);
  static bool is_at(const Call& call, const std::string& device);
  std::unique_ptr<ScheduledTask> ring_operator(DeviceEntry& operator_device);
  void answer(DeviceEntry& operator_device);
  void schedule_dials();
  void end_conversation(std::uint64_t sequence);
  void caller_hangs_up(std::uint64_t sequence);
  // Clears the call at its device with `releasing` as the device that left, and forgets it.
  void finish(std::uint64_t sequence, const std::string& releasing);

  sdk::DeviceState state_of(const Device& device) const;
  void emit_call_event(sdk::CallEventType type, const Call& call, const std::string& device,
                       const std::string& other_device, const char* cause,
                       sdk::ConnectionState local_state = sdk::ConnectionState::null);
  void emit_device(const std::string& number, const Device& device);
  void emit_device(const std::string& number) { emit_device(number, devices_.at(number)); }

  PbxModelSettings settings_;
  Scheduler& scheduler_;
  EventSink sink_;
  // Two streams, so the offered calls (arrivals, callers, patience, talk times) are the same whatever
  // the routing does with them: what-if runs compare strategies on identical traffic.
  RandomStream arrivals_;
  RandomStream behaviour_;  // who is logged out, whether and when operators answer
  std::vector<std::string> projects_;
  std::vector<KnownCaller> known_callers_;
  // Hashed: nothing reads them in their order (operators() sorts, snapshot() orders calls by sequence).
  std::unordered_map<std::string, Device> devices_;
  std::unordered_map<std::uint64_t, Call> calls_;  // by sequence
  std::map<std::string, std::vector<GroupMember>> groups_;  // hunt group number -> members, in order
  std::unique_ptr<ScheduledTask> arrival_timer_;
  std::vector<std::unique_ptr<ScheduledTask>> dial_timers_;
  bool running_ = false;
  std::uint64_t generated_ = 0;
  std::uint64_t last_call_ = 0;  // ids stay unique across stop() and start()
  std::size_t operators_created_ = 0;
  std::size_t operators_logged_out_ = 0;  // by offline_operators, not by set_logged_in()
};

}  // namespace switchboard::sim
