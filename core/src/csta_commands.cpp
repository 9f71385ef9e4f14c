// `switchboard csta decode FILE...`: an integrator's tool for traces. Each file holds captured wire frames
// (binary, 8-byte header included) or one bare XML message; every message becomes one JSON line with the
// normalised SDK event or request it means. Anything unknown or malformed is an error line and exit 1.
#include "switchboard/core/csta_commands.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "codec/framing.hpp"
#include "codec/message.hpp"

namespace switchboard::core {
namespace {

nlohmann::ordered_json describe(const csta::Message& m) {
  nlohmann::ordered_json j;
  j["kind"] = csta::to_string(m.kind);
  j["root"] = m.root_name;
  if (auto event = csta::to_sdk_event(m, "decode")) {
    if (const auto* c = std::get_if<sdk::CallEvent>(&*event)) {
      j["event"] = {{"type", sdk::to_string(c->type)},
                    {"call_id", c->connection.call_id},
                    {"device", c->connection.device},
                    {"calling", c->calling},
                    {"called", c->called},
                    {"other_device", c->other_device},
                    {"redirecting", c->redirecting},
                    {"cause", c->cause},
                    {"local_state", csta::to_string(c->local_state)}};
    }
    return j;
  }
  // A request or response: its non-empty fields.
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  auto put = [&](const char* name, const std::string& value) {
    if (!value.empty()) fields[name] = value;
  };
  put("monitor_cross_ref_id", m.monitor_cross_ref_id);
  put("call_id", m.connection.call_id);
  put("device", m.connection.device.empty() ? m.device_id : m.connection.device);
  put("new_destination", m.new_destination);
  put("session_id", m.session_id);
  put("application_id", m.application_id);
  put("system_status", m.system_status);
  put("route_register_req_id", m.route_register_req_id);
  put("routing_cross_ref_id", m.routing_cross_ref_id);
  put("error_category", m.error_category);
  put("error_value", m.error_value);
  if (!m.password.empty()) fields["password"] = "<redacted>";
  j["request"] = fields;
  return j;
}

}  // namespace

int csta_decode(const std::vector<std::string>& files) {
  int failures = 0;
  auto fail = [&](const std::string& where, const std::string& message) {
    std::cerr << where << ": error: " << message << '\n';
    ++failures;
  };
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fail(file, std::string("cannot read: ") + std::strerror(errno));
      continue;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string bytes = buffer.str();
    auto emit = [&](const std::string& where, std::optional<int> invoke_id, std::string_view body) {
      auto message = csta::decode_message(body);
      if (!message) return fail(where, message.error().message);
      if (message->kind == csta::MessageKind::unknown)
        return fail(where, "unknown CSTA message <" + message->root_name + ">");
      auto j = describe(*message);
      nlohmann::ordered_json line;
      line["source"] = where;
      if (invoke_id) line["invoke_id"] = *invoke_id;
      for (auto& [k, v] : j.items()) line[k] = v;
      std::cout << line.dump() << '\n';
    };
    // Wire frames start with the two zero bytes of the format indicator; anything else is bare XML.
    if (bytes.size() >= 2 && bytes[0] == '\0' && bytes[1] == '\0') {
      csta::FrameDecoder decoder;
      decoder.feed(bytes);
      int n = 0;
      while (auto frame = decoder.next()) {
        ++n;
        emit(file + ": frame " + std::to_string(n), frame->invoke_id, frame->body);
      }
      if (decoder.failed())
        fail(file + ": frame " + std::to_string(n + 1), decoder.error().message);
      else if (decoder.buffered_bytes() > 0)
        fail(file, "truncated: " + std::to_string(decoder.buffered_bytes()) + " bytes after the last whole frame");
    } else {
      emit(file, std::nullopt, bytes);
    }
  }
  return failures ? 1 : 0;
}

}  // namespace switchboard::core
