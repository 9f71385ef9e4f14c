// CSTA XML messages (ECMA-323 / ECMA-354) as one flat struct: the driver, the simulator and the
// `csta decode` command all read the same fields whatever the PBX's namespace edition or prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::csta {

// What we send: ECMA-323 edition 3 (the edition most switches accept) and ECMA-354 for the session.
inline constexpr std::string_view kCstaNamespace = "http://www.ecma-international.org/standards/ecma-323/csta/ed3";
inline constexpr std::string_view kSessionNamespace =
    "http://www.ecma-international.org/standards/ecma-354/appl_session";

enum class MessageKind {
  unknown,
  system_status,
  system_status_response,
  start_application_session,
  start_application_session_pos_response,
  start_application_session_neg_response,
  reset_application_session_timer,
  reset_application_session_timer_response,
  monitor_start,
  monitor_start_response,
  monitor_stop,
  monitor_stop_response,
  snapshot_device,
  snapshot_device_response,
  deflect_call,
  deflect_call_response,
  single_step_transfer_call,
  single_step_transfer_call_response,
  clear_connection,
  clear_connection_response,
  route_register,
  route_register_response,
  route_request,
  route_select,
  route_end,
  re_route,  // the switch asks for another route: the one selected failed
  set_agent_state,
  set_agent_state_response,
  delivered,
  established,
  connection_cleared,
  call_cleared,
  diverted,
  failed,
  offered,
  transferred,
  service_initiated,
  originated,
  csta_error_code,  // a negative response: error_category + error_value
};

const char* to_string(MessageKind kind) noexcept;

// The SDK's CallRef has no equality; this one serves the defaulted comparisons below without adding an
// operator to the SDK's namespace (which the SDK may define itself one day).
inline bool operator==(const sdk::CallRef& a, const sdk::CallRef& b) noexcept {
  return a.call_id == b.call_id && a.device == b.device;
}

// One call at one device in a SnapshotDeviceResponse.
struct SnapshotEntry {
  sdk::CallRef connection;
  std::optional<sdk::ConnectionState> state;
  friend bool operator==(const SnapshotEntry&, const SnapshotEntry&) = default;
};

// Fields are empty when the message does not carry them. Device ids are kept as the PBX wrote them
// (trimmed only): the driver normalises for matching but must send the raw form back (guide pitfall 7).
struct Message {
  MessageKind kind = MessageKind::unknown;
  std::string root_name;  // local name of the root element as received; set by decode only

  std::string monitor_cross_ref_id;
  sdk::CallRef connection;      // connection / establishedConnection / droppedConnection / callToBeDiverted …
  sdk::CallRef old_connection;  // TransferedEvent: primaryOldCall
  std::string device_id;        // the device a request is about: monitorObject, snapshotObject, routeingDevice,
                                // SetAgentState's device
  std::string calling_device;
  std::string called_device;    // also RouteRequest's currentRoute
  std::string alerting_device;
  std::string answering_device;
  std::string releasing_device;
  std::string last_redirection_device;
  std::string new_destination;  // newDestination, transferredTo, routeSelected, transferredToDevice
  std::optional<sdk::ConnectionState> local_connection_info;
  std::string cause;            // normalised lower snake: new_call, busy, destination_not_obtainable …

  // ECMA-354 application session.
  std::string session_id;
  std::string application_id;
  std::string user;      // applicationSpecificInfo credentials
  std::string password;
  std::string protocol_version;   // requested (first) or actual
  std::string session_duration;   // requested or actual, seconds as text

  std::string system_status;      // normal, initializing, messagesLost …

  std::string route_register_req_id;
  std::string routing_cross_ref_id;

  // SetAgentState: requestedAgentState as ECMA writes it (loggedOn, loggedOff, ready, notReady,
  // workingAfterCall) and the optional group (ACD / hunt group) it applies to.
  std::string agent_state;
  std::string agent_group;

  // CSTAErrorCode, RouteEnd errorValue, StartApplicationSessionNegResponse errorCode.
  std::string error_category;  // operation, stateIncompatibility, definedError …
  std::string error_value;     // invalidDeviceID, resourceBusy, generic …

  std::vector<SnapshotEntry> snapshot;

  friend bool operator==(const Message&, const Message&) = default;
};

// Parses one XML body (no frame header). Fails with a message a person can act on: malformed XML
// with its offset, body over 65535 bytes, an encoding we cannot convert. An unrecognised but well-formed
// root gives kind unknown (with root_name), not an error: the driver logs and ignores it.
sdk::Result<Message> decode_message(std::string_view body);
// The same into an existing Message, reusing its strings' buffers (the driver's path: no allocation per
// frame once warm). On error `message` holds no meaningful value.
sdk::Status decode_message(std::string_view body, Message& message);

// The XML body for `message.kind` (root in the ed3 or ECMA-354 namespace, every text value escaped).
// Kinds the driver and the simulator never send (offered, transferred, …) fail with not_supported.
sdk::Result<std::string> encode_message(const Message& message);

// The SDK event a call event becomes (delivered, established, connection_cleared, diverted, failed,
// transferred, originated), device ids normalised (normalise_device_id); nullopt for every other kind. `at`
// is the receive time (default: now).
std::optional<sdk::Event> to_sdk_event(const Message& message, std::string_view driver_name,
                                       sdk::TimePoint at = {});

// "newCall" → "new_call"; "destNotObtainable" → "destination_not_obtainable" (the SDK's spelling).
std::string normalise_cause(std::string_view cause);

// A device identifier as the PBX wrote it, reduced to the number used for matching (guide pitfall 7):
// "N<+15619231000>;noa=nk;displayNumber=…" → "+15619231000", "1001:CM1:10.0.0.1:0" → "1001",
// "tel:+420602123456" → "+420602123456", "sip:115@pbx" → "115". Plain numbers come back unchanged.
// The result is a part of `raw`: keep `raw` alive while using it.
std::string_view normalise_device_id(std::string_view raw);

std::optional<sdk::ConnectionState> parse_connection_state(std::string_view text) noexcept;
const char* to_string(sdk::ConnectionState state) noexcept;

}  // namespace switchboard::csta
