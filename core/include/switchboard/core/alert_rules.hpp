// Alert rules: the core turns PBX link events into alerts and hands them to every alert action.
// pbx_link_down (critical) when a driver reports its link lost, pbx_link_up (resolved) when it is back.
// Debounce: one key is notified at most once per `min_interval`; changes in between are coalesced, and
// at the end of the interval the state is notified only if it differs from the last one sent, so a
// flapping link does not flood.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "switchboard/core/event_hub.hpp"
#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"

namespace switchboard::core {

struct AlertTarget {
  std::string name;
  sdk::AlertAction* action;
  sdk::Strand* strand;
};

class AlertRules {
 public:
  AlertRules(sdk::Context& context, std::vector<AlertTarget> actions, std::chrono::milliseconds min_interval);
  // Listens to the link events on `events` from now on.
  void start(EventHub& events);
  // The host is stopping the drivers on purpose: their links going down is not an outage.
  void prepare_stop();

  static sdk::ConfigSchema schema();

 private:
  struct KeyState {
    bool down = false;           // what the driver says now
    bool notified_down = false;  // what was last sent
    bool ever_notified = false;
    std::chrono::steady_clock::time_point last_sent{};
    sdk::Timer pending;
    std::string driver, detail;
  };
  void on_link(const sdk::LinkEvent& e);
  void notify(KeyState& s);
  void fire(const sdk::Alert& alert);

  sdk::Context& ctx_;
  std::vector<AlertTarget> actions_;
  std::chrono::milliseconds min_interval_;
  std::map<std::string, KeyState> keys_;
  std::unique_ptr<sdk::Subscription> subscription_;
  bool stopping_ = false;
};

}  // namespace switchboard::core
