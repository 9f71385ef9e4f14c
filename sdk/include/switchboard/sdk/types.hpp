// Value types that cross the host/plugin boundary: calls, devices, events, and the call centre's records.
// Plain structs of standard types, so every plugin reads them the same way.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace switchboard::sdk {

using TimePoint = std::chrono::system_clock::time_point;

// ----- devices and calls ---------------------------------------------------------------------------

// What the call engine believes of a device (an extension, a project number, a group number).
enum class DeviceState { unknown, idle, ringing, busy, offline };

// CSTA's localConnectionInfo: a connection's state at one device.
enum class ConnectionState { null, initiated, alerting, connected, hold, queued, fail };

// A connection: one call at one device (CSTA's callID + deviceID).
struct CallRef {
  std::string call_id;
  std::string device;
};

enum class CallEventType {
  delivered,    // the call alerts at a device
  established,  // a device answered
  cleared,      // a device left the call (connection cleared) or the call ended
  diverted,     // the call left a device for another (deflect, forwarding)
  failed,       // the call could not reach a device (busy, not obtainable)
  transferred,  // the call was transferred; connection.call_id is the new call id
  originated,   // a device started a call (dialled digits in `called`)
};

inline const char* to_string(DeviceState s) noexcept {
  switch (s) {
    case DeviceState::unknown: return "unknown";
    case DeviceState::idle: return "idle";
    case DeviceState::ringing: return "ringing";
    case DeviceState::busy: return "busy";
    case DeviceState::offline: return "offline";
  }
  return "unknown";
}

inline const char* to_string(CallEventType t) noexcept {
  switch (t) {
    case CallEventType::delivered: return "delivered";
    case CallEventType::established: return "established";
    case CallEventType::cleared: return "cleared";
    case CallEventType::diverted: return "diverted";
    case CallEventType::failed: return "failed";
    case CallEventType::transferred: return "transferred";
    case CallEventType::originated: return "originated";
  }
  return "unknown";
}

struct CallEvent {
  CallEventType type = CallEventType::delivered;
  std::string driver;        // the driver instance that reported it
  CallRef connection;        // the call and the device the event is about
  std::string calling;       // the caller's number as the PBX gave it (empty when withheld)
  std::string called;        // the dialled number
  std::string other_device;  // alerting / answering / releasing / new destination, by type
  std::string redirecting;   // last redirection device, when the call was forwarded or deflected
  std::string cause;         // normalised cause: new_call, busy, not_obtainable, normal_clearing, ...
  ConnectionState local_state = ConnectionState::null;
  TimePoint at{};
  std::string raw;           // vendor data, for diagnostics only: never parse it outside the driver
};

struct DeviceEvent {
  std::string driver;
  std::string device;
  DeviceState state = DeviceState::unknown;
  TimePoint at{};
};

struct LinkEvent {
  std::string driver;
  bool up = false;
  std::string detail;  // "connected to 10.0.0.5:1040", "3 heartbeats unanswered"
  TimePoint at{};
};

// Everything published on the host's event bus. Adding an alternative changes the ABI (major).
using Event = std::variant<CallEvent, DeviceEvent, LinkEvent>;

// ----- the call centre's data ------------------------------------------------------------------------

// A routing rule and the customer it identifies (seed 2.1). An empty project means lookup only (SA mode).
struct Rule {
  std::int64_t id = 0;
  std::string project;
  std::string company_id;
  std::string company;
  std::array<std::string, 3> callers;             // as entered
  std::array<std::string, 3> callers_normalised;  // see the numbering plan (E.164 or extension)
  std::vector<std::string> operators;             // extensions, tried in order
  std::string street;
  std::string city;
  std::string postcode;
  std::string note;
  TimePoint created_at{};
  TimePoint updated_at{};
};

// A record an operator wrote about a customer (seed 5, the middle of the client-record window).
struct Note {
  std::int64_t id = 0;
  std::int64_t rule_id = 0;
  TimePoint saved_at{};
  std::optional<TimePoint> call_at;
  std::string operator_extension;
  std::string agent;
  std::string text;
};

enum class AgentRole { agent, administrator };

// An agent on the server (seed 4).
struct Agent {
  std::int64_t id = 0;
  std::string name;
  std::string password_hash;  // argon2id; never the password
  std::string extension;
  std::string last_ip;
  std::optional<TimePoint> start;  // last login
  std::optional<TimePoint> stop;   // last logout; start set and stop empty = logged in now
  bool may_edit_central_list = false;
  bool may_edit_own_list = false;
  bool call_module = false;
  std::string group;  // SA group number
  AgentRole role = AgentRole::agent;
};

// An SA (hunt) group (seed 3.1).
struct SaGroup {
  std::string number;
  std::string name;
  int capacity = 0;
};

// A call nobody answered, kept on an agent's missed-call list (seed 3).
struct MissedCall {
  std::int64_t id = 0;
  TimePoint at{};
  std::string number;  // project or group number
  std::string caller;
  std::string agent_extension;
  std::optional<std::int64_t> customer_id;
  bool done = false;
};

// ----- business records (what exporters receive) ------------------------------------------------------

// How the operator was chosen: the seed's codes 1, 2, 3, 8, 9, 10 and our additions (see docs/routing.md).
using OutcomeCode = int;

// One finished call: the seed's log line `D.M.YYYY HH:MM:SS;project;caller;operator;type;customer_id;`
// plus the reason trail that explains the decision.
struct CallRecord {
  std::uint64_t sequence = 0;  // assigned by storage; monotonic
  TimePoint at{};              // when the call arrived
  std::string call_id;
  std::string project;         // the dialled number
  std::string caller;          // empty when withheld
  std::string operator_extension;  // empty when nobody answered
  OutcomeCode outcome = 0;
  std::optional<std::int64_t> customer_id;
  std::string strategy;        // routing instance that decided
  std::vector<std::string> reasons;  // the trail: "rule 12 matched caller", "114 busy", ...
};

// A command sent to the PBX (administration, group membership): audited.
struct AuditRecord {
  std::uint64_t sequence = 0;
  TimePoint at{};
  std::string instance;  // the driver it went through
  std::string actor;     // who asked: an agent, the CLI, a strategy
  std::string command;
  std::string result;
  bool ok = false;
};

using BusinessRecord = std::variant<CallRecord, AuditRecord>;

// ----- alerts ----------------------------------------------------------------------------------------

enum class Severity { info, warning, critical };

inline const char* to_string(Severity s) noexcept {
  switch (s) {
    case Severity::info: return "info";
    case Severity::warning: return "warning";
    case Severity::critical: return "critical";
  }
  return "unknown";
}

// One alert as the core's rules decided it: actions only deliver it (debounce and dedup are done).
struct Alert {
  std::string rule;       // "pbx_link_down"
  Severity severity = Severity::warning;
  std::string summary;    // one line a person can act on
  std::map<std::string, std::string> labels;  // driver=hicom-main, host=10.0.0.5
  std::string dedup_key;  // equal keys are the same ongoing problem
  bool resolved = false;  // true when the problem has ended
  TimePoint at{};
};

}  // namespace switchboard::sdk
