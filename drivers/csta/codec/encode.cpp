#include <cctype>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "codec/message.hpp"

namespace switchboard::csta {
namespace {

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
}

// Builds the body by appending to one string: cheaper than a DOM, and every text value goes through
// append_escaped so no caller can forget to escape an OpenScape "N<+1561…>" device id.
class XmlWriter {
 public:
  XmlWriter(std::string_view root, std::string_view ns) : root_(root) {
    out_.reserve(512);
    out_ += R"(<?xml version="1.0" encoding="UTF-8"?>)";
    out_ += '<';
    out_ += root;
    out_ += R"( xmlns=")";
    out_ += ns;
    out_ += R"(">)";
  }
  void open(std::string_view name) { (((out_ += '<') += name) += '>'); }
  void close(std::string_view name) { (((out_ += "</") += name) += '>'); }
  void empty(std::string_view name) { (((out_ += '<') += name) += "/>"); }
  void text(std::string_view name, std::string_view value) {
    open(name);
    append_escaped(out_, value);
    close(name);
  }
  // Optional fields are left out rather than sent empty: an empty element is a value to a switch.
  void optional_text(std::string_view name, std::string_view value) {
    if (!value.empty()) text(name, value);
  }
  // Event device fields use the <deviceIdentifier> wrapper as switches send them.
  void device(std::string_view name, std::string_view id) {
    if (id.empty()) return;
    open(name);
    text("deviceIdentifier", id);
    close(name);
  }
  void connection(std::string_view name, const sdk::CallRef& ref) {
    open(name);
    text("callID", ref.call_id);
    text("deviceID", ref.device);
    close(name);
  }
  std::string finish() && {
    close(root_);
    return std::move(out_);
  }

 private:
  std::string_view root_;
  std::string out_;
};

// Back to ECMA's camelCase: "new_call" → "newCall"; "destination_not_obtainable" → "destNotObtainable".
std::string denormalise_cause(std::string_view cause) {
  if (cause == "destination_not_obtainable") return "destNotObtainable";
  std::string out;
  bool upper_next = false;
  for (const char c : cause) {
    if (c == '_') {
      upper_next = true;
    } else {
      out += upper_next ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper_next = false;
    }
  }
  return out;
}

void write_error(XmlWriter& xml, const Message& m, std::string_view default_category) {
  xml.text(m.error_category.empty() ? default_category : std::string_view(m.error_category), m.error_value);
}

void write_call_event(XmlWriter& xml, const Message& m, std::string_view connection_name) {
  xml.optional_text("monitorCrossRefID", m.monitor_cross_ref_id);
  xml.connection(connection_name, m.connection);
  xml.device("alertingDevice", m.alerting_device);
  xml.device("answeringDevice", m.answering_device);
  xml.device("releasingDevice", m.releasing_device);
  xml.device("newDestination", m.new_destination);
  xml.device("callingDevice", m.calling_device);
  xml.device("calledDevice", m.called_device);
  xml.device("lastRedirectionDevice", m.last_redirection_device);
  if (m.local_connection_info) xml.text("localConnectionInfo", to_string(*m.local_connection_info));
  if (!m.cause.empty()) xml.text("cause", denormalise_cause(m.cause));
}

std::string_view root_name_of(MessageKind kind) {
  switch (kind) {
    case MessageKind::system_status: return "SystemStatus";
    case MessageKind::system_status_response: return "SystemStatusResponse";
    case MessageKind::start_application_session: return "StartApplicationSession";
    case MessageKind::start_application_session_pos_response: return "StartApplicationSessionPosResponse";
    case MessageKind::start_application_session_neg_response: return "StartApplicationSessionNegResponse";
    case MessageKind::reset_application_session_timer: return "ResetApplicationSessionTimer";
    case MessageKind::reset_application_session_timer_response: return "ResetApplicationSessionTimerPosResponse";
    case MessageKind::monitor_start: return "MonitorStart";
    case MessageKind::monitor_start_response: return "MonitorStartResponse";
    case MessageKind::monitor_stop: return "MonitorStop";
    case MessageKind::monitor_stop_response: return "MonitorStopResponse";
    case MessageKind::snapshot_device: return "SnapshotDevice";
    case MessageKind::snapshot_device_response: return "SnapshotDeviceResponse";
    case MessageKind::deflect_call: return "DeflectCall";
    case MessageKind::deflect_call_response: return "DeflectCallResponse";
    case MessageKind::single_step_transfer_call: return "SingleStepTransferCall";
    case MessageKind::single_step_transfer_call_response: return "SingleStepTransferCallResponse";
    case MessageKind::clear_connection: return "ClearConnection";
    case MessageKind::clear_connection_response: return "ClearConnectionResponse";
    case MessageKind::route_register: return "RouteRegister";
    case MessageKind::route_register_response: return "RouteRegisterResponse";
    case MessageKind::route_request: return "RouteRequest";
    case MessageKind::route_select: return "RouteSelect";
    case MessageKind::route_end: return "RouteEnd";
    case MessageKind::re_route: return "ReRoute";
    case MessageKind::set_agent_state: return "SetAgentState";
    case MessageKind::set_agent_state_response: return "SetAgentStateResponse";
    case MessageKind::delivered: return "DeliveredEvent";
    case MessageKind::established: return "EstablishedEvent";
    case MessageKind::connection_cleared: return "ConnectionClearedEvent";
    case MessageKind::call_cleared: return "CallClearedEvent";
    case MessageKind::diverted: return "DivertedEvent";
    case MessageKind::failed: return "FailedEvent";
    case MessageKind::offered: return "OfferedEvent";
    case MessageKind::transferred: return "TransferedEvent";
    case MessageKind::service_initiated: return "ServiceInitiatedEvent";
    case MessageKind::originated: return "OriginatedEvent";
    case MessageKind::csta_error_code: return "CSTAErrorCode";
    case MessageKind::unknown: return "";
  }
  return "";
}

bool is_session_message(MessageKind kind) {
  return kind == MessageKind::start_application_session ||
         kind == MessageKind::start_application_session_pos_response ||
         kind == MessageKind::start_application_session_neg_response ||
         kind == MessageKind::reset_application_session_timer ||
         kind == MessageKind::reset_application_session_timer_response;
}

}  // namespace

const char* to_string(sdk::ConnectionState state) noexcept {
  switch (state) {
    case sdk::ConnectionState::null: return "null";
    case sdk::ConnectionState::initiated: return "initiated";
    case sdk::ConnectionState::alerting: return "alerting";
    case sdk::ConnectionState::connected: return "connected";
    case sdk::ConnectionState::hold: return "hold";
    case sdk::ConnectionState::queued: return "queued";
    case sdk::ConnectionState::fail: return "fail";
  }
  return "null";
}

const char* to_string(MessageKind kind) noexcept {
  switch (kind) {
    case MessageKind::unknown: return "unknown";
    case MessageKind::system_status: return "system_status";
    case MessageKind::system_status_response: return "system_status_response";
    case MessageKind::start_application_session: return "start_application_session";
    case MessageKind::start_application_session_pos_response: return "start_application_session_pos_response";
    case MessageKind::start_application_session_neg_response: return "start_application_session_neg_response";
    case MessageKind::reset_application_session_timer: return "reset_application_session_timer";
    case MessageKind::reset_application_session_timer_response: return "reset_application_session_timer_response";
    case MessageKind::monitor_start: return "monitor_start";
    case MessageKind::monitor_start_response: return "monitor_start_response";
    case MessageKind::monitor_stop: return "monitor_stop";
    case MessageKind::monitor_stop_response: return "monitor_stop_response";
    case MessageKind::snapshot_device: return "snapshot_device";
    case MessageKind::snapshot_device_response: return "snapshot_device_response";
    case MessageKind::deflect_call: return "deflect_call";
    case MessageKind::deflect_call_response: return "deflect_call_response";
    case MessageKind::single_step_transfer_call: return "single_step_transfer_call";
    case MessageKind::single_step_transfer_call_response: return "single_step_transfer_call_response";
    case MessageKind::clear_connection: return "clear_connection";
    case MessageKind::clear_connection_response: return "clear_connection_response";
    case MessageKind::route_register: return "route_register";
    case MessageKind::route_register_response: return "route_register_response";
    case MessageKind::route_request: return "route_request";
    case MessageKind::route_select: return "route_select";
    case MessageKind::route_end: return "route_end";
    case MessageKind::re_route: return "re_route";
    case MessageKind::set_agent_state: return "set_agent_state";
    case MessageKind::set_agent_state_response: return "set_agent_state_response";
    case MessageKind::delivered: return "delivered";
    case MessageKind::established: return "established";
    case MessageKind::connection_cleared: return "connection_cleared";
    case MessageKind::call_cleared: return "call_cleared";
    case MessageKind::diverted: return "diverted";
    case MessageKind::failed: return "failed";
    case MessageKind::offered: return "offered";
    case MessageKind::transferred: return "transferred";
    case MessageKind::service_initiated: return "service_initiated";
    case MessageKind::originated: return "originated";
    case MessageKind::csta_error_code: return "csta_error_code";
  }
  return "unknown";
}

sdk::Result<std::string> encode_message(const Message& m) {
  const std::string_view root = root_name_of(m.kind);
  XmlWriter xml(root, is_session_message(m.kind) ? kSessionNamespace : kCstaNamespace);
  switch (m.kind) {
    case MessageKind::system_status:
      xml.optional_text("systemStatus", m.system_status);
      break;
    case MessageKind::system_status_response:
    case MessageKind::monitor_stop_response:
    case MessageKind::deflect_call_response:
    case MessageKind::clear_connection_response:
    case MessageKind::set_agent_state_response:
      break;
    case MessageKind::start_application_session:
      xml.open("applicationInfo");
      xml.text("applicationID", m.application_id);
      if (!m.user.empty() || !m.password.empty()) {
        // Credentials are vendor XML in ECMA-354; plain user/password elements are what we and pbxsim
        // agree on. A vendor that needs another shape gets its own writer in the driver.
        xml.open("applicationSpecificInfo");
        xml.optional_text("user", m.user);
        xml.optional_text("password", m.password);
        xml.close("applicationSpecificInfo");
      }
      xml.close("applicationInfo");
      xml.open("requestedProtocolVersions");
      xml.text("protocolVersion", m.protocol_version.empty() ? kCstaNamespace : std::string_view(m.protocol_version));
      xml.close("requestedProtocolVersions");
      xml.optional_text("requestedSessionDuration", m.session_duration);
      break;
    case MessageKind::start_application_session_pos_response:
      xml.text("sessionID", m.session_id);
      xml.optional_text("actualProtocolVersion", m.protocol_version);
      xml.optional_text("actualSessionDuration", m.session_duration);
      break;
    case MessageKind::start_application_session_neg_response:
      xml.open("errorCode");
      write_error(xml, m, "definedError");
      xml.close("errorCode");
      break;
    case MessageKind::reset_application_session_timer:
      xml.text("sessionID", m.session_id);
      xml.optional_text("requestedSessionDuration", m.session_duration);
      break;
    case MessageKind::reset_application_session_timer_response:
      xml.optional_text("actualSessionDuration", m.session_duration);
      break;
    case MessageKind::monitor_start:
      // No monitorFilter on purpose: in ECMA-269 a filter flag set to true SUPPRESSES that event (Avaya's
      // invertFilter flips it again), so a well-meant filter silently drops everything. Without one the
      // switch reports every event and the driver ignores what it does not need.
      xml.open("monitorObject");
      xml.text("deviceObject", m.device_id);
      xml.close("monitorObject");
      xml.text("monitorType", "device");
      break;
    case MessageKind::monitor_start_response:
    case MessageKind::monitor_stop:
      xml.text("monitorCrossRefID", m.monitor_cross_ref_id);
      break;
    case MessageKind::snapshot_device:
      xml.text("snapshotObject", m.device_id);
      break;
    case MessageKind::snapshot_device_response:
      xml.open("crossRefIDorSnapshotData");
      xml.open("snapshotData");
      for (const auto& entry : m.snapshot) {
        xml.open("snapshotDeviceResponseInfo");
        xml.connection("connectionIdentifier", entry.connection);
        if (entry.state) {
          xml.open("localCallState");
          xml.open("compoundCallState");
          xml.text("localConnectionState", to_string(*entry.state));
          xml.close("compoundCallState");
          xml.close("localCallState");
        }
        xml.close("snapshotDeviceResponseInfo");
      }
      xml.close("snapshotData");
      xml.close("crossRefIDorSnapshotData");
      break;
    case MessageKind::deflect_call:
      xml.connection("callToBeDiverted", m.connection);
      xml.text("newDestination", m.new_destination);
      break;
    case MessageKind::single_step_transfer_call:
      xml.connection("activeCall", m.connection);
      xml.text("transferredTo", m.new_destination);
      break;
    case MessageKind::single_step_transfer_call_response:
      if (!m.connection.call_id.empty()) xml.connection("transferredCall", m.connection);
      break;
    case MessageKind::clear_connection:
      xml.connection("connectionToBeCleared", m.connection);
      break;
    case MessageKind::route_register:
      xml.optional_text("routeingDevice", m.device_id);
      break;
    case MessageKind::route_register_response:
      xml.text("routeRegisterReqID", m.route_register_req_id);
      break;
    case MessageKind::route_request:
      xml.text("routeRegisterReqID", m.route_register_req_id);
      xml.text("routingCrossRefID", m.routing_cross_ref_id);
      xml.text("currentRoute", m.called_device);
      xml.optional_text("callingDevice", m.calling_device);
      xml.connection("routedCall", m.connection);
      break;
    case MessageKind::route_select:
      xml.text("routeRegisterReqID", m.route_register_req_id);
      xml.text("routingCrossRefID", m.routing_cross_ref_id);
      xml.text("routeSelected", m.new_destination);
      break;
    case MessageKind::re_route:
      xml.text("routeRegisterReqID", m.route_register_req_id);
      xml.text("routingCrossRefID", m.routing_cross_ref_id);
      break;
    case MessageKind::route_end:
      xml.text("routeRegisterReqID", m.route_register_req_id);
      xml.text("routingCrossRefID", m.routing_cross_ref_id);
      if (!m.error_value.empty()) {
        xml.open("errorValue");
        write_error(xml, m, "operation");
        xml.close("errorValue");
      }
      break;
    case MessageKind::set_agent_state:
      xml.text("device", m.device_id);
      xml.text("requestedAgentState", m.agent_state);
      xml.optional_text("group", m.agent_group);
      break;
    case MessageKind::csta_error_code:
      write_error(xml, m, "operation");
      break;
    case MessageKind::delivered:
    case MessageKind::diverted:
      write_call_event(xml, m, "connection");
      break;
    case MessageKind::established:
      write_call_event(xml, m, "establishedConnection");
      break;
    case MessageKind::connection_cleared:
      write_call_event(xml, m, "droppedConnection");
      break;
    case MessageKind::failed:
      write_call_event(xml, m, "failedConnection");
      break;
    case MessageKind::originated:  // pbxsim reports an operator dialling (a hunt group's join code, say)
      write_call_event(xml, m, "originatedConnection");
      break;
    case MessageKind::call_cleared:
    case MessageKind::offered:
    case MessageKind::transferred:
    case MessageKind::service_initiated:
    case MessageKind::unknown:
      return sdk::Error{sdk::ErrorCode::not_supported,
                        fmt::format("no CSTA encoder for message kind {}", to_string(m.kind))};
  }
  return std::move(xml).finish();
}

std::optional<sdk::Event> to_sdk_event(const Message& m, std::string_view driver_name, sdk::TimePoint at) {
  // The device at the other end, as each event names it.
  std::pair<sdk::CallEventType, const std::string*> mapped;
  switch (m.kind) {
    case MessageKind::delivered: mapped = {sdk::CallEventType::delivered, &m.alerting_device}; break;
    case MessageKind::established: mapped = {sdk::CallEventType::established, &m.answering_device}; break;
    case MessageKind::connection_cleared: mapped = {sdk::CallEventType::cleared, &m.releasing_device}; break;
    case MessageKind::diverted: mapped = {sdk::CallEventType::diverted, &m.new_destination}; break;
    case MessageKind::failed: mapped = {sdk::CallEventType::failed, &m.called_device}; break;
    case MessageKind::transferred: mapped = {sdk::CallEventType::transferred, &m.new_destination}; break;
    case MessageKind::originated: mapped = {sdk::CallEventType::originated, &m.calling_device}; break;
    default: return std::nullopt;
  }
  std::optional<sdk::Event> out{std::in_place, std::in_place_type<sdk::CallEvent>};
  auto& event = std::get<sdk::CallEvent>(*out);
  event.type = mapped.first;
  event.other_device = normalise_device_id(*mapped.second);
  event.driver = driver_name;
  event.connection.call_id = m.connection.call_id;
  event.connection.device = normalise_device_id(m.connection.device);
  event.calling = normalise_device_id(m.calling_device);
  event.called = normalise_device_id(m.called_device);
  event.redirecting = normalise_device_id(m.last_redirection_device);
  event.cause = m.cause;
  event.local_state = m.local_connection_info.value_or(sdk::ConnectionState::null);
  event.at = at == sdk::TimePoint{} ? std::chrono::system_clock::now() : at;
  return out;
}

}  // namespace switchboard::csta
