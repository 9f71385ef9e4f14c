// Optional interfaces of a routing strategy (ABI 1.1): hunt (SA) groups whose members join and leave, and
// what happens to calls nobody answers. A strategy derives from them beside RoutingStrategy; the engine
// finds them with dynamic_cast and calls them on the engine's strand, like decide().
//
// The engine does the PBX's side of both: it recognises the join/leave dial codes in the drivers' events,
// clears that call, sends the membership to the PBX (PbxDriver::set_agent_state) and writes every such
// command to the PBX command log; it starts the unanswered-call timer and writes missed calls to storage.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/routing.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

// Seed section 3 ("additional routing parameters"): a call still unanswered `after` its arrival either
// goes on the missed-call list of `agent` (notify, routing goes on) or is ended (clear).
struct UnansweredPolicy {
  enum class Action { notify, clear };
  Action action = Action::notify;
  std::string agent;  // notify: the extension whose missed-call list gets the call
  std::chrono::milliseconds after{30'000};
};

// The `unanswered: {action, agent, after}` block every strategy with CallPolicies accepts, declared, checked
// and read the same way everywhere.
inline ConfigSchema unanswered_policy_schema() {
  ConfigSchema unanswered;
  unanswered.add("action", TypeSpec::enum_of({"notify", "clear"}))
      .required()
      .doc("What happens to a call still unanswered `after` its arrival (seed section 3): `notify` puts it on the "
           "missed-call list of `agent` and routing goes on (a call that ends unanswered earlier goes there too); "
           "`clear` ends it (outcome 12).");
  unanswered.add("agent", ValueType::string)
      .doc("The extension whose missed-call list gets unanswered calls (digits); required for `action: notify`.");
  unanswered.add("after", ValueType::duration)
      .range(1'000, 86'400'000)
      .default_value("30s")
      .doc("How long after its arrival a call counts as unanswered.");
  return unanswered;
}

inline void check_unanswered_policy(const Settings& unanswered, Diagnostics& diag) {
  if (unanswered.has("agent")) {
    const std::string& agent = unanswered.string("agent");
    if (!is_digits(agent)) diag.error(unanswered, "agent", "agent '" + agent + "' is not an extension: digits only");
  }
  if (unanswered.string("action") == "notify" && !unanswered.has("agent"))
    diag.error(unanswered, "action",
               "unanswered action notify needs unanswered.agent, the extension whose missed-call list gets the call");
}

inline UnansweredPolicy unanswered_policy_from(const Settings& unanswered) {
  UnansweredPolicy policy;
  policy.action = unanswered.string("action") == "clear" ? UnansweredPolicy::Action::clear : UnansweredPolicy::Action::notify;
  policy.agent = unanswered.string_or("agent", "");
  policy.after = unanswered.duration("after");
  return policy;
}

class CallPolicies {
 public:
  virtual ~CallPolicies() = default;
  // The policy for calls to `number` (one of the strategy's numbers()); nothing: no policy.
  virtual std::optional<UnansweredPolicy> unanswered(std::string_view number) const = 0;
};

struct GroupMember {
  std::string extension;
  bool joined = false;  // taking the group's calls now (joined by dial code, the CLI or at start)
};

struct GroupStatus {
  std::string number;
  std::string name;
  int capacity = 0;           // calls that may wait
  std::string distribution;   // linear, round_robin, longest_idle, ring_all
  std::vector<GroupMember> members;
  std::vector<std::string> waiting;  // call ids, oldest first
};

// Which dial code a member dialled.
enum class MembershipCode { join, leave };

class HuntGroups {
 public:
  virtual ~HuntGroups() = default;
  // `dialled` is this strategy's join or leave code; nothing for any other number.
  virtual std::optional<MembershipCode> membership_code(std::string_view dialled) const = 0;
  // The groups `member` belongs to (listed in the configuration, or an agent with the call module on and
  // that group); empty: none of this strategy's.
  virtual std::vector<std::string> groups_of(std::string_view member) const = 0;
  // `member` joins (true) or leaves (false) `group`; false when it is not a member of that group. A member
  // leaving while a call rings at it keeps that call (the engine's ring timeout moves it on).
  virtual bool set_joined(std::string_view group, std::string_view member, bool joined) = 0;
  virtual std::vector<GroupStatus> group_status() const = 0;
};

}  // namespace switchboard::sdk
