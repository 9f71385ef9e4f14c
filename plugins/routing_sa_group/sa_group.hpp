// Routing strategy `sa_group`: the original's SA (hunt) groups (seed 2.1 "without projects", 3.1, 4.1, 6.1
// and 3). A call to a group number goes to the group's joined, free members by the group's distribution,
// waits in the group's queue (first in, first out, up to `capacity` calls) while nobody is free, and
// overflows when the queue is full or nobody has joined. Lookup-only rules name the customer. README.md
// describes the configuration, the decision and the outcome codes (20, 21, 22, 9).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/hunt_groups.hpp"
#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/routing.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::plugins {

class SaGroupStrategy final : public sdk::RoutingStrategy, public sdk::HuntGroups, public sdk::CallPolicies {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  SaGroupStrategy(sdk::Context& context, const sdk::Settings& settings);
  ~SaGroupStrategy() override;

  // Reads the state file and loads the members the storage names, then completes.
  void start(sdk::Completion done) override;
  // Waits for a state-file write in progress, so the last change is on disk.
  void stop(sdk::Completion done) override;

  std::vector<std::string> numbers() const override { return numbers_; }
  std::vector<std::string> devices() const override { return devices_; }
  sdk::RoutingDecision decide(const sdk::RoutingRequest& request, const sdk::DeviceView& devices) override;
  void observe(const sdk::Event& event) override;

  // HuntGroups
  std::optional<sdk::MembershipCode> membership_code(std::string_view dialled) const override;
  std::vector<std::string> groups_of(std::string_view member) const override;
  bool set_joined(std::string_view group, std::string_view member, bool joined) override;
  std::vector<sdk::GroupStatus> group_status() const override;

  // CallPolicies
  std::optional<sdk::UnansweredPolicy> unanswered(std::string_view number) const override;

  // A waiting call the engine has not asked about for this long is taken off the queue: the engine asks
  // every 500 ms, so it has ended without an event reaching us, and it must not hold up the calls behind it.
  static constexpr std::chrono::seconds stale_waiting_call{10};
  // How long the first target of an offer is kept for that call, unless an event of the call at that
  // member comes first: until the PBX reports it ringing, the device view still shows it free.
  static constexpr std::chrono::seconds offer_reservation{3};

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  enum class Distribution { linear, round_robin, longest_idle, ring_all };

  struct Member {
    std::string extension;
    bool joined = false;
  };
  struct WaitingCall {
    std::string call_id;
    SteadyTime last_asked;
  };
  struct Group {
    std::string number;
    std::string name;
    int capacity = 0;
    Distribution distribution = Distribution::linear;
    std::string pbx_number;
    std::chrono::milliseconds ring_timeout{0};
    std::chrono::milliseconds wrapup{0};
    bool overflow_to_target = false;
    std::string overflow_target;
    std::optional<sdk::UnansweredPolicy> unanswered;
    std::vector<std::string> configured_members;  // the YAML's, before storage adds its agents
    std::vector<Member> members;                  // in distribution order: the YAML's, then storage's
    std::vector<WaitingCall> waiting;             // oldest first
    std::string round_robin_last;                 // the member offered first last time
  };
  // A call this strategy offered to a group's members: its answer starts the member's wrap-up.
  struct GroupCall {
    std::string group;
    std::string answered_by;
    SteadyTime offered_at;
  };
  struct Reservation {
    std::string call_id;
    SteadyTime until;
  };
  struct Lifetime;  // shared with callbacks, which must not touch a destroyed instance

  class MemberCheck;  // which members may take a call now, with a trail line for each that may not

  Group* group_numbered(std::string_view number);
  const Group* group_numbered(std::string_view number) const;
  void read_state_file();
  void load_storage_members();
  void finish_start(sdk::Status status);
  void merge_storage_members(const std::vector<sdk::Agent>& agents);
  void apply_saved_membership();
  void save_membership();
  void write_next_state();
  void state_written();
  std::vector<std::string> order_targets(Group& group, const std::vector<std::string>& available,
                                         const sdk::DeviceView& devices, sdk::RoutingDecision& decision) const;
  void overflow(Group& group, const std::string& call_id, sdk::RoutingDecision& decision,
                const sdk::DeviceView& devices);
  void forget_stale_calls(SteadyTime now);
  void end_wrapups_before(SteadyTime now);
  void handle_call_event(const sdk::CallEvent& event);
  bool leave_queue(const std::string& call_id, std::string_view why);

  sdk::Context& context_;
  std::vector<Group> groups_;
  std::string join_code_;
  std::string leave_code_;
  bool start_joined_ = true;
  std::string storage_name_;
  std::string state_file_;

  // Fixed before start() completes and never written again: the host and the driver may read them from
  // another strand than the one decide() runs on.
  std::vector<std::string> numbers_;
  std::vector<std::string> devices_;

  std::map<std::string, SteadyTime> wrapup_until_;    // member -> end of its wrap-up
  std::map<std::string, Reservation> reserved_;       // member -> the call just offered to it
  std::map<std::string, GroupCall> group_calls_;      // call id -> where it was offered

  enum class Phase { created, starting, started, failed, stopping, stopped };
  Phase phase_ = Phase::created;
  sdk::Status start_result_;
  std::vector<sdk::Completion> start_waiters_;
  std::vector<sdk::Completion> stop_waiters_;
  std::map<std::pair<std::string, std::string>, bool> saved_membership_;  // from the state file at start
  bool writing_state_ = false;
  bool state_dirty_ = false;
  std::shared_ptr<Lifetime> lifetime_;
};

void register_sa_group(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
