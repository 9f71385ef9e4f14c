#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "codec/framing.hpp"
#include "codec/message.hpp"

namespace switchboard::csta {
namespace {

// pugixml takes a fresh memory page (about 32 KiB) for every document and gives it back afterwards; at tens of
// thousands of messages a second that malloc/free pair, which makes glibc consolidate its small-block bins,
// cost as much as the parse itself. Blocks are kept for reuse per thread instead. Each block carries its size
// in front, so a block is plain malloc memory whichever thread or copy of this code frees it.
class PageCache {
 public:
  static void* allocate(std::size_t size) {
    auto& cache = blocks();
    for (auto it = cache.begin(); it != cache.end(); ++it)
      if (size_of(*it) == size) {
        void* block = *it;
        *it = cache.back();
        cache.pop_back();
        return static_cast<char*>(block) + kHeader;
      }
    auto* block = static_cast<char*>(std::malloc(size + kHeader));
    if (!block) return nullptr;
    std::memcpy(block, &size, sizeof size);
    return block + kHeader;
  }
  static void deallocate(void* pointer) {
    if (!pointer) return;
    void* block = static_cast<char*>(pointer) - kHeader;
    auto& cache = blocks();
    if (cache.size() < kKeep)
      cache.push_back(block);
    else
      std::free(block);
  }
  // Once per process, before the first document: pugixml's allocator is process-wide.
  static void install() {
    static std::once_flag once;
    std::call_once(once, [] { pugi::set_memory_management_functions(&allocate, &deallocate); });
  }

 private:
  static constexpr std::size_t kHeader = alignof(std::max_align_t);
  static constexpr std::size_t kKeep = 4;
  static std::size_t size_of(void* block) {
    std::size_t size;
    std::memcpy(&size, block, sizeof size);
    return size;
  }
  static std::vector<void*>& blocks() {
    // Freed into the process's malloc when the thread ends.
    struct Blocks {
      std::vector<void*> list;
      ~Blocks() {
        for (void* block : list) std::free(block);
      }
    };
    thread_local Blocks cache;
    return cache.list;
  }
};

constexpr unsigned kParseOptions = pugi::parse_cdata | pugi::parse_escapes;

// An inline test: find_first_not_of(" \t\r\n") calls memchr once per character, which showed in profiles.
constexpr bool is_xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_xml_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_xml_space(text.back())) text.remove_suffix(1);
  return text;
}

// "ns3:DeliveredEvent" → "DeliveredEvent". Matching by local name accepts every edition, any prefix
// and no namespace at all; CSTA element names do not collide across the namespaces we accept.
std::string_view local_name(const pugi::xml_node& node) {
  const char* name = node.name();
  const char* local = name;
  const char* end = name;
  for (; *end; ++end)
    if (*end == ':') local = end + 1;
  return {local, static_cast<std::size_t>(end - local)};
}

pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (auto node = parent.first_child(); node; node = node.next_sibling()) {
    if (node.type() == pugi::node_element && local_name(node) == name) return node;
  }
  return {};
}

pugi::xml_node first_element(const pugi::xml_node& parent) {
  for (auto node = parent.first_child(); node; node = node.next_sibling()) {
    if (node.type() == pugi::node_element) return node;
  }
  return {};
}

pugi::xml_node descendant(const pugi::xml_node& parent, std::string_view name) {
  for (auto node = parent.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    if (local_name(node) == name) return node;
    if (auto found = descendant(node, name)) return found;
  }
  return {};
}

// Values are assigned into the message's existing strings: a driver decodes every frame into one Message,
// so after the first few calls no field allocates.
void assign_text(std::string& to, const pugi::xml_node& node) { to.assign(trim(node.text().get())); }

// A device id is either the element's text or wrapped in <deviceIdentifier>; <notKnown/> or
// <restricted/> (a withheld number) gives an empty id.
void assign_device(std::string& to, const pugi::xml_node& node) {
  if (auto identifier = child(node, "deviceIdentifier")) return assign_text(to, identifier);
  if (first_element(node)) return to.clear();
  assign_text(to, node);
}

void assign_connection(sdk::CallRef& to, const pugi::xml_node& node) {
  assign_text(to.call_id, child(node, "callID"));
  assign_device(to.device, child(node, "deviceID"));
}

void read_error(const pugi::xml_node& holder, Message& message) {
  if (auto category = first_element(holder)) {
    message.error_category.assign(local_name(category));
    assign_text(message.error_value, category);
  } else {
    assign_text(message.error_value, holder);
  }
}

struct KindName {
  std::string_view name;
  MessageKind kind;
};

// Alternative spellings seen across editions and vendors map to the same kind.
constexpr KindName kKinds[] = {
    {"SystemStatus", MessageKind::system_status},
    {"SystemStatusResponse", MessageKind::system_status_response},
    {"StartApplicationSession", MessageKind::start_application_session},
    {"StartApplicationSessionPosResponse", MessageKind::start_application_session_pos_response},
    {"StartApplicationSessionNegResponse", MessageKind::start_application_session_neg_response},
    {"ResetApplicationSessionTimer", MessageKind::reset_application_session_timer},
    {"ResetApplicationSessionTimerPosResponse", MessageKind::reset_application_session_timer_response},
    {"ResetApplicationSessionTimerResponse", MessageKind::reset_application_session_timer_response},
    {"MonitorStart", MessageKind::monitor_start},
    {"MonitorStartResponse", MessageKind::monitor_start_response},
    {"MonitorStop", MessageKind::monitor_stop},
    {"MonitorStopResponse", MessageKind::monitor_stop_response},
    {"SnapshotDevice", MessageKind::snapshot_device},
    {"SnapshotDeviceResponse", MessageKind::snapshot_device_response},
    {"DeflectCall", MessageKind::deflect_call},
    {"DeflectCallResponse", MessageKind::deflect_call_response},
    {"SingleStepTransferCall", MessageKind::single_step_transfer_call},
    {"SingleStepTransferCallResponse", MessageKind::single_step_transfer_call_response},
    {"ClearConnection", MessageKind::clear_connection},
    {"ClearConnectionResponse", MessageKind::clear_connection_response},
    {"RouteRegister", MessageKind::route_register},
    {"RouteRegisterResponse", MessageKind::route_register_response},
    {"RouteRequest", MessageKind::route_request},
    {"RouteSelect", MessageKind::route_select},
    {"RouteSelectRequest", MessageKind::route_select},
    {"RouteEnd", MessageKind::route_end},
    {"RouteEndRequest", MessageKind::route_end},
    {"ReRoute", MessageKind::re_route},
    {"ReRouteRequest", MessageKind::re_route},
    {"SetAgentState", MessageKind::set_agent_state},
    {"SetAgentStateResponse", MessageKind::set_agent_state_response},
    {"DeliveredEvent", MessageKind::delivered},
    {"EstablishedEvent", MessageKind::established},
    {"ConnectionClearedEvent", MessageKind::connection_cleared},
    {"CallClearedEvent", MessageKind::call_cleared},
    {"DivertedEvent", MessageKind::diverted},
    {"FailedEvent", MessageKind::failed},
    {"OfferedEvent", MessageKind::offered},
    {"TransferedEvent", MessageKind::transferred},  // ECMA's spelling, one "r"
    {"TransferredEvent", MessageKind::transferred},
    {"ServiceInitiatedEvent", MessageKind::service_initiated},
    {"OriginatedEvent", MessageKind::originated},
    {"CSTAErrorCode", MessageKind::csta_error_code},
};

MessageKind kind_of(std::string_view root) {
  // Looked up for every frame: hashed, not compared one by one.
  static const std::unordered_map<std::string_view, MessageKind> kinds = [] {
    std::unordered_map<std::string_view, MessageKind> map;
    for (const auto& entry : kKinds) map.emplace(entry.name, entry.kind);
    return map;
  }();
  auto it = kinds.find(root);
  return it == kinds.end() ? MessageKind::unknown : it->second;
}

void read_snapshot(const pugi::xml_node& root, Message& message) {
  const auto data = descendant(root, "snapshotData");
  if (!data) return;
  for (auto info = data.first_child(); info; info = info.next_sibling()) {
    if (info.type() != pugi::node_element || local_name(info) != "snapshotDeviceResponseInfo") continue;
    SnapshotEntry entry;
    assign_connection(entry.connection, child(info, "connectionIdentifier"));
    // Editions wrap the state differently (compoundCallState, simpleCallState): find it anywhere.
    auto state = descendant(info, "localConnectionState");
    if (!state) state = descendant(info, "localConnectionInfo");
    if (state) entry.state = parse_connection_state(trim(state.text().get()));
    message.snapshot.push_back(std::move(entry));
  }
}

void read_application_info(const pugi::xml_node& info, Message& message) {
  assign_text(message.application_id, child(info, "applicationID"));
  if (auto specific = child(info, "applicationSpecificInfo")) {
    assign_text(message.user, descendant(specific, "user"));
    assign_text(message.password, descendant(specific, "password"));
  }
}

// "newCall" → "new_call", written over `out` (see normalise_cause).
void normalise_cause_into(std::string& out, std::string_view cause) {
  // ECMA abbreviates; the SDK and logs spell it out.
  if (cause == "destNotObtainable") {
    out.assign("destination_not_obtainable");
    return;
  }
  out.clear();
  for (const char c : cause) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 'A' && byte <= 'Z') {
      if (!out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(byte - 'A' + 'a');
    } else if (c == '-' || c == ' ') {
      if (!out.empty() && out.back() != '_') out += '_';
    } else {
      out += c;
    }
  }
}

// One pass over the root's children; each CSTA field name means the same in every message that has it.
void read_fields(const pugi::xml_node& root, Message& message) {
  for (auto node = root.first_child(); node; node = node.next_sibling()) {
    if (node.type() != pugi::node_element) continue;
    const std::string_view name = local_name(node);
    if (name == "monitorCrossRefID") {
      assign_text(message.monitor_cross_ref_id, node);
    } else if (name == "connection" || name == "establishedConnection" || name == "droppedConnection" ||
               name == "clearedCall" || name == "failedConnection" || name == "offeredConnection" ||
               name == "initiatedConnection" || name == "originatedConnection" ||
               name == "callToBeDiverted" || name == "activeCall" || name == "connectionToBeCleared" ||
               name == "routedCall" || name == "transferredCall") {
      assign_connection(message.connection, node);
    } else if (name == "transferredConnections") {
      if (auto fresh = descendant(node, "newConnection")) assign_connection(message.connection, fresh);
    } else if (name == "primaryOldCall") {
      assign_connection(message.old_connection, node);
    } else if (name == "callingDevice") {
      assign_device(message.calling_device, node);
    } else if (name == "calledDevice" || name == "currentRoute") {
      assign_device(message.called_device, node);
    } else if (name == "alertingDevice") {
      assign_device(message.alerting_device, node);
    } else if (name == "answeringDevice") {
      assign_device(message.answering_device, node);
    } else if (name == "releasingDevice") {
      assign_device(message.releasing_device, node);
    } else if (name == "lastRedirectionDevice") {
      assign_device(message.last_redirection_device, node);
    } else if (name == "newDestination" || name == "transferredTo" || name == "routeSelected" ||
               name == "transferredToDevice") {
      assign_device(message.new_destination, node);
    } else if (name == "monitorObject") {
      auto object = child(node, "deviceObject");
      assign_device(message.device_id, object ? object : node);
    } else if (name == "snapshotObject" || name == "routeingDevice" || name == "routingDevice" || name == "device") {
      assign_device(message.device_id, node);
    } else if (name == "localConnectionInfo") {
      message.local_connection_info = parse_connection_state(trim(node.text().get()));
    } else if (name == "cause") {
      normalise_cause_into(message.cause, trim(node.text().get()));
    } else if (name == "sessionID") {
      assign_text(message.session_id, node);
    } else if (name == "applicationInfo") {
      read_application_info(node, message);
    } else if (name == "requestedProtocolVersions") {
      assign_text(message.protocol_version, child(node, "protocolVersion"));
    } else if (name == "actualProtocolVersion") {
      assign_text(message.protocol_version, node);
    } else if (name == "requestedSessionDuration" || name == "actualSessionDuration") {
      assign_text(message.session_duration, node);
    } else if (name == "systemStatus") {
      assign_text(message.system_status, node);
    } else if (name == "routeRegisterReqID") {
      assign_text(message.route_register_req_id, node);
    } else if (name == "routingCrossRefID") {
      assign_text(message.routing_cross_ref_id, node);
    } else if (name == "requestedAgentState") {
      assign_text(message.agent_state, node);
    } else if (name == "group") {
      assign_device(message.agent_group, node);
    } else if (name == "errorValue" || name == "errorCode") {
      read_error(node, message);
    } else if (name == "crossRefIDorSnapshotData") {
      read_snapshot(node, message);
    }
    // Anything else (servicesPermitted, extensions/privateData, vendor elements) is ignored on purpose.
  }
}

// Every field back to empty, each string keeping its buffer (assigning Message{} would free them all).
void clear_keeping_capacity(Message& m) {
  m.kind = MessageKind::unknown;
  for (std::string* field :
       {&m.root_name, &m.monitor_cross_ref_id, &m.connection.call_id, &m.connection.device, &m.old_connection.call_id,
        &m.old_connection.device, &m.device_id, &m.calling_device, &m.called_device, &m.alerting_device,
        &m.answering_device, &m.releasing_device, &m.last_redirection_device, &m.new_destination, &m.cause,
        &m.session_id, &m.application_id, &m.user, &m.password, &m.protocol_version, &m.session_duration,
        &m.system_status, &m.route_register_req_id, &m.routing_cross_ref_id, &m.agent_state, &m.agent_group,
        &m.error_category, &m.error_value})
    field->clear();
  m.local_connection_info.reset();
  m.snapshot.clear();
}

// The encoding named in the XML declaration, or empty when there is no ASCII declaration.
std::string_view declared_encoding(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  if (!body.starts_with("<?xml")) return {};
  const auto end = body.find("?>");
  if (end == std::string_view::npos) return {};
  const std::string_view declaration = body.substr(0, end);
  auto at = declaration.find("encoding");
  if (at == std::string_view::npos) return {};
  at = declaration.find_first_of("\"'", at);
  if (at == std::string_view::npos) return {};
  const auto close = declaration.find(declaration[at], at + 1);
  if (close == std::string_view::npos) return {};
  return declaration.substr(at + 1, close - at - 1);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

// Converts a body in a declared single-byte charset (ISO-8859-x, windows-125x …) to UTF-8. pugixml
// itself knows only UTF-8/16/32 and Latin-1, and would read other charsets as UTF-8 and mangle names.
sdk::Result<std::string> to_utf8(std::string_view body, std::string_view encoding) {
  const std::string name(encoding);
  iconv_t converter = iconv_open("UTF-8", name.c_str());
  if (converter == reinterpret_cast<iconv_t>(-1)) {
    return sdk::Error{sdk::ErrorCode::not_supported,
                      fmt::format("CSTA body declares encoding \"{}\", which this system cannot convert", name)};
  }
  std::string out(body.size() * 4, '\0');  // a single-byte charset needs at most 4 UTF-8 bytes per byte
  char* in_ptr = const_cast<char*>(body.data());
  std::size_t in_left = body.size();
  char* out_ptr = out.data();
  std::size_t out_left = out.size();
  const std::size_t rc = iconv(converter, &in_ptr, &in_left, &out_ptr, &out_left);
  const int saved_errno = errno;
  iconv_close(converter);
  if (rc == static_cast<std::size_t>(-1)) {
    return sdk::Error{sdk::ErrorCode::invalid_argument,
                      fmt::format("CSTA body is not valid {} at byte {}: {}", name, body.size() - in_left,
                                  std::strerror(saved_errno))};
  }
  out.resize(out.size() - out_left);
  return out;
}

}  // namespace

std::optional<sdk::ConnectionState> parse_connection_state(std::string_view text) noexcept {
  using sdk::ConnectionState;
  if (text == "null") return ConnectionState::null;
  if (text == "initiated") return ConnectionState::initiated;
  if (text == "alerting") return ConnectionState::alerting;
  if (text == "connected") return ConnectionState::connected;
  if (text == "hold") return ConnectionState::hold;
  if (text == "queued") return ConnectionState::queued;
  if (text == "fail") return ConnectionState::fail;
  return std::nullopt;
}

std::string normalise_cause(std::string_view cause) {
  std::string out;
  normalise_cause_into(out, cause);
  return out;
}

sdk::Status decode_message(std::string_view body, Message& message) {
  if (body.size() > kMaxFrameBytes) {
    return sdk::Error{sdk::ErrorCode::invalid_argument,
                      fmt::format("CSTA body of {} bytes exceeds the {}-byte limit", body.size(), kMaxFrameBytes)};
  }
  std::string converted;
  auto encoding = pugi::encoding_utf8;
  const std::string_view declared = declared_encoding(body);
  if (declared.empty()) {
    // No ASCII declaration: a UTF-16/32 body (BOM or "<\0?\0") is detected by pugixml itself.
    encoding = pugi::encoding_auto;
  } else if (starts_with_ignoring_case(declared, "utf-16") || starts_with_ignoring_case(declared, "utf-32")) {
    encoding = pugi::encoding_auto;
  } else if (!equals_ignoring_case(declared, "utf-8") && !equals_ignoring_case(declared, "utf8") &&
             !equals_ignoring_case(declared, "us-ascii")) {
    auto utf8 = to_utf8(body, declared);
    if (!utf8) return utf8.error();
    converted = std::move(utf8).value();
    body = converted;
  }

  // No parse_doctype: a DOCTYPE is skipped, and pugixml never expands entities other than the five
  // predefined ones and character references, nor loads anything external (no XXE, no billion laughs). The
  // body is bounded above, so no element can be larger than 64 KiB. Only what we read is processed: text with
  // its escapes and CDATA; line ends and attribute whitespace are left alone (values are trimmed, attributes
  // never read).
  PageCache::install();
  // Parsed in place in a per-thread copy: load_buffer would allocate and copy the body once more.
  thread_local std::string scratch;
  scratch.assign(body.data(), body.size());
  pugi::xml_document document;
  const auto parsed = document.load_buffer_inplace(scratch.data(), scratch.size(), kParseOptions, encoding);
  if (!parsed) {
    return sdk::Error{sdk::ErrorCode::invalid_argument,
                      fmt::format("malformed CSTA XML at byte {}: {}", parsed.offset, parsed.description())};
  }
  const auto root = document.document_element();
  clear_keeping_capacity(message);
  message.root_name.assign(local_name(root));
  message.kind = kind_of(message.root_name);
  if (message.kind == MessageKind::csta_error_code) {
    read_error(root, message);
  } else if (message.kind != MessageKind::unknown) {
    read_fields(root, message);
  }
  return {};
}

sdk::Result<Message> decode_message(std::string_view body) {
  Message message;
  auto status = decode_message(body, message);
  if (!status) return status.error();
  return message;
}

std::string_view normalise_device_id(std::string_view raw) {
  std::string_view id = trim(raw);
  // OpenScape: N<+15619231000>;noa=nk;… — the number sits between the angle brackets.
  if (id.size() > 2 && id[0] == 'N' && id[1] == '<') {
    auto close = id.find('>');
    if (close != std::string_view::npos) return trim(id.substr(2, close - 2));
  }
  for (std::string_view scheme : {"tel:", "sip:", "sips:"})
    if (id.starts_with(scheme)) {
      id.remove_prefix(scheme.size());
      return id.substr(0, id.find_first_of("@;"));
    }
  // Avaya: 1001:CM1:10.0.0.1:0 — the extension before the first colon.
  return id.substr(0, id.find(':'));
}

}  // namespace switchboard::csta
