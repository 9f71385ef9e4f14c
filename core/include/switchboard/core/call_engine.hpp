// The call engine: the single writer of call and device state. It watches the drivers' events, asks the
// routing strategy of the dialled number where a new call goes, offers it to each target in turn (moving on
// when the PBX refuses, the target turns out busy, or it rings unanswered for the ring timeout) and writes
// one call-log record per call: when it is answered, abandoned (code 11) or given up (code 9).
//
// Everything runs on the engine's strand, which the routing strategies share, so decide() is a plain call.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "switchboard/core/customer_index.hpp"
#include "switchboard/core/number_plan.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/driver.hpp"
#include "switchboard/sdk/exporter.hpp"
#include "switchboard/sdk/hunt_groups.hpp"
#include "switchboard/sdk/routing.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::core {

class CallLogPipeline;

// Hashes std::string keys so a std::string_view finds them without building a string (C++20 heterogeneous
// lookup): the engine looks devices and calls up by the views events and strategies hand it.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

// The instances the engine works with, found by the runtime.
struct EngineWiring {
  struct Driver {
    std::string name;
    sdk::PbxDriver* driver;
    sdk::Strand* strand;
  };
  struct Strategy {
    std::string name;
    sdk::RoutingStrategy* strategy;
    std::string storage;  // the storage whose rules it routes ("" for none)
  };
  struct Storage {
    std::string name;
    sdk::Storage* storage;
    sdk::Strand* strand;
  };
  struct Exporter {
    std::string name;
    sdk::LogExporter* exporter;
    sdk::Strand* strand;
  };
  std::vector<Driver> drivers;
  std::vector<Strategy> strategies;
  std::vector<Storage> storages;
  std::vector<Exporter> exporters;
  std::string call_log_storage;  // where records are stored ("" for none); also missed calls and the audit
  std::string command_log;       // the PBX command log file (LOG_SA.TXT); "" for none
};

// The devices as the engine sees them: what decide() reads.
class DeviceTable final : public sdk::DeviceView {
 public:
  sdk::DeviceState state(std::string_view device) const override;
  std::optional<std::chrono::steady_clock::time_point> idle_since(std::string_view device) const override;
  void set(const std::string& device, sdk::DeviceState state, std::chrono::steady_clock::time_point now);

 private:
  struct Entry {
    sdk::DeviceState state = sdk::DeviceState::unknown;
    std::chrono::steady_clock::time_point since{};
  };
  StringMap<Entry> devices_;
};

// A call the engine routed, ringing at a device (the agent's screen pop).
struct RingingCall {
  std::string call_id;
  std::string dialled;
  std::string caller;
  std::string device;
  std::string storage;  // where the customer is kept ("" when the strategy has no storage)
  std::optional<std::int64_t> customer_id;
  sdk::TimePoint arrived{};
};

class CallEngine {
 public:
  using RecordObserver = std::function<void(const sdk::CallRecord&)>;
  using RingObserver = std::function<void(const RingingCall&)>;

  CallEngine(sdk::Context& context, NumberPlan plan, EngineWiring wiring);
  ~CallEngine();

  // Loads the customer indexes, subscribes to the bus. `done` on the engine's strand.
  void start(sdk::Completion done);
  // After the drivers started: asks each to monitor the devices the strategies name.
  void monitor_devices();
  // The host is about to stop the drivers: their link going down is expected, not a fault.
  void prepare_stop() { stopping_ = true; }
  // Flushes the call log (storage and exporters) and stops routing. `done` on the engine's strand.
  void stop(sdk::Completion done);
  // Reloads every customer index from storage (SIGHUP: rules changed by another process).
  void reload_indexes(sdk::Completion done);

  // Called for every finished record, on the engine's strand (the demo prints one line a call).
  void on_record(RecordObserver observer) { observers_.push_back(std::move(observer)); }
  // Called whenever a routed call starts ringing at a device other than the dialled number, on the
  // engine's strand, while it rings (the web console's screen pop).
  void on_ringing(RingObserver observer) { ring_observers_.push_back(std::move(observer)); }

  // The decision the engine would take now for a call from `caller` to `dialled` (route explain).
  std::optional<sdk::RoutingDecision> decide(const std::string& dialled, const std::string& caller,
                                             std::string* strategy_name = nullptr);
  DeviceTable& devices() noexcept { return devices_; }
  // SA groups (strategies with sdk::HuntGroups): status, and a member joining or leaving every group it
  // belongs to, sent to the PBX and written to the PBX command log. `actor`: who asked (dial code, cli).
  std::vector<sdk::GroupStatus> group_status() const;
  sdk::Status set_membership(const std::string& member, bool join, const std::string& actor);
  const CustomerIndex* index_for(const std::string& storage) const;
  std::size_t active_calls() const noexcept { return calls_.size(); }

 private:
  struct Call;
  void handle(const sdk::Event& event);
  void handle_call(const sdk::CallEvent& e);
  void start_call(const sdk::CallEvent& e, std::size_t strategy);
  void offer_next(Call& call);
  void finish(Call& call, sdk::OutcomeCode outcome, const std::string& operator_extension);
  void end_call(Call& call, sdk::OutcomeCode outcome, const std::string& why);  // cleared at the PBX
  void wait_in_queue(Call& call);
  void arm_waiting_recheck();  // the periodic recheck, while any call waits
  void reconsider_waiting();
  void take_decision(Call& call);
  void unanswered(const std::string& call_id);
  void record_missed(Call& call, const std::string& agent);  // once per call, on `agent`'s list
  void on_dial_code(const sdk::CallEvent& e, sdk::MembershipCode code);
  void send_membership(const std::string& member, const std::string& group, bool join, const std::string& actor);
  void log_command(const std::string& driver, const std::string& actor, const std::string& command,
                   const sdk::Status& result);
  void clear_at_pbx(const std::string& driver, sdk::CallRef call);
  const EngineWiring::Storage* record_storage() const;
  sdk::RoutingRequest make_request(const std::string& call_id, const std::string& dialled, const std::string& caller,
                                   std::size_t strategy) const;
  const EngineWiring::Driver* driver_named(const std::string& name) const;

  sdk::Context& ctx_;
  NumberPlan plan_;
  EngineWiring wiring_;
  DeviceTable devices_;
  std::map<std::string, CustomerIndex> indexes_;       // by storage name
  StringMap<std::size_t> routes_;  // dialled number -> strategy
  StringMap<std::unique_ptr<Call>> calls_;
  std::vector<sdk::HuntGroups*> hunt_groups_;        // per strategy, null when it keeps none
  std::vector<sdk::CallPolicies*> call_policies_;    // per strategy, null when it has none
  std::vector<std::string> waiting_;                 // queued call ids, oldest first
  sdk::Timer waiting_tick_;                          // asks again for waiting calls while any waits
  std::map<std::string, bool> link_up_;               // by driver
  std::unique_ptr<sdk::Subscription> subscription_;
  std::unique_ptr<CallLogPipeline> call_log_;
  std::vector<RecordObserver> observers_;
  std::vector<RingObserver> ring_observers_;
  std::chrono::milliseconds default_ring_timeout_{20'000};
  bool running_ = false;
  bool stopping_ = false;
};

}  // namespace switchboard::core
