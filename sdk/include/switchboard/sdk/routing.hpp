// Extension point: routing strategy. Synchronous, fast, no I/O: given the call and a read-only view of
// device states, return an ordered decision with its reasons; observe events to keep state of its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/instance.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

// A number as configuration gives extensions, project and group numbers: digits only (ABI 1.1).
inline bool is_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (c < '0' || c > '9') return false;
  return true;
}

// Why a device cannot take an offered call now; nothing when it may (ABI 1.1). An unknown state counts as
// free: the PBX refuses the offer if it is not, and the engine then moves on.
inline std::optional<std::string_view> why_unavailable(DeviceState state) {
  switch (state) {
    case DeviceState::busy: return "busy";
    case DeviceState::ringing: return "ringing";
    case DeviceState::offline: return "offline";
    case DeviceState::unknown:
    case DeviceState::idle: return std::nullopt;
  }
  return std::nullopt;
}

// Device states as the call engine tracks them; valid only during decide().
class DeviceView {
 public:
  virtual ~DeviceView() = default;
  virtual DeviceState state(std::string_view device) const = 0;
  // Since when the device has been idle (for longest-idle distribution); nothing when not idle.
  virtual std::optional<std::chrono::steady_clock::time_point> idle_since(std::string_view device) const = 0;
};

// A rule whose numbers include the caller's, as the core's customer index holds it; valid during decide().
struct RuleMatch {
  std::int64_t rule_id = 0;
  std::string_view project;               // empty: a lookup-only rule (SA-group mode)
  std::span<const std::string> operators;  // in the order the rule gives them
};

struct RoutingRequest {
  std::string call_id;
  std::string dialled;            // the project or group number the call arrived on
  std::string caller;             // as the PBX gave it; empty when withheld
  std::string caller_normalised;  // the numbering plan's form (E.164 or extension); empty when withheld
  std::vector<RuleMatch> matches;  // rules of any project whose numbers equal the caller's, by rule id
  bool directory_empty = false;   // the database holds no rules at all (the original's code 10)
  TimePoint at{};
};

// One candidate destination, with the outcome code recorded if the call is answered there.
struct RouteTarget {
  std::string destination;
  OutcomeCode outcome = 0;
  std::string reason;  // "operator of rule 12", "project operator"
};

struct RoutingDecision {
  enum class Action {
    offer,  // try `targets` in order; none answered => outcome_when_exhausted
    queue,  // keep the call waiting; the engine asks again when a device changes state
    clear,  // end the call (overflow policy)
  };
  Action action = Action::offer;
  std::vector<RouteTarget> targets;
  // How long a target may ring before the engine moves on; zero: the engine's default.
  std::chrono::milliseconds ring_timeout{0};
  OutcomeCode outcome_when_exhausted = 9;
  std::optional<std::int64_t> customer_id;
  std::vector<std::string> trail;  // why: every rule looked at, every target skipped
};

class RoutingStrategy : public Instance {
 public:
  static constexpr Category category = Category::routing;

  // The numbers (projects, groups) whose calls this strategy decides.
  virtual std::vector<std::string> numbers() const = 0;
  // The devices it may send calls to: the driver monitors them.
  virtual std::vector<std::string> devices() const = 0;
  virtual RoutingDecision decide(const RoutingRequest& request, const DeviceView& devices) = 0;
  // Events of the calls and devices it routes, in order, on its strand.
  virtual void observe(const Event& event) {}
};

// The numbers calls arrive on (projects, groups): every routing instance's numbers(), deduplicated, in
// configuration order (ABI 1.1). For drivers that must tell them from telephones. numbers() is fixed once an
// instance is constructed, so reading it from another strand is safe.
inline std::vector<std::string> routed_numbers(Context& context) {
  std::vector<std::string> numbers;
  for (const auto& name : context.instance_names(Category::routing)) {
    auto ref = context.instance(Category::routing, name);
    if (!ref) continue;
    for (auto& number : static_cast<RoutingStrategy*>(ref.instance)->numbers())
      if (std::find(numbers.begin(), numbers.end(), number) == numbers.end()) numbers.push_back(std::move(number));
  }
  return numbers;
}

}  // namespace switchboard::sdk
