// Test driver "scripted": a PBX whose every event a test dictates, for call-engine tests that need exact
// sequences (who is busy, who refuses, who answers when). Built into a test plugin; the test reaches the
// instance through the runtime and drives it on the driver's strand.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "switchboard/sdk/sdk.hpp"

namespace scripted {
namespace sdk = switchboard::sdk;

struct Deflect {
  std::string call_id;
  std::string from;
  std::string to;
};

class ScriptedDriver final : public sdk::PbxDriver {
 public:
  static sdk::ConfigSchema schema() { return {}; }
  ScriptedDriver(sdk::Context& ctx, const sdk::Settings&) : ctx_(ctx) {}

  void start(sdk::Completion done) override {
    publish(sdk::LinkEvent{ctx_.instance_name(), true, "scripted", ctx_.clock().now()});
    done({});
  }
  void stop(sdk::Completion done) override { done({}); }
  sdk::DriverCapabilities capabilities() const override {
    sdk::DriverCapabilities c;
    c.deflect = true;
    c.clear_connection = true;
    c.agent_state = true;
    return c;
  }
  void monitor(std::vector<std::string> devices, sdk::Completion done) override {
    for (const auto& d : devices) {
      monitored.insert(d);
      set_state(d, sdk::DeviceState::idle);
    }
    done({});
  }
  void deflect(sdk::CallRef call, std::string destination, sdk::Completion done) override {
    deflects.push_back({call.call_id, call.device, destination});
    if (auto it = refuse.find(destination); it != refuse.end()) {
      done(sdk::make_error(it->second, "scripted refusal"));
      return;
    }
    done({});
    call_event(sdk::CallEventType::diverted, call.call_id, call.device, destination);
    call_event(sdk::CallEventType::delivered, call.call_id, destination, destination);
    set_state(destination, sdk::DeviceState::ringing);
  }
  void transfer(sdk::CallRef, std::string, sdk::Completion done) override {
    done(sdk::make_error(sdk::ErrorCode::not_supported, "no"));
  }
  void clear(sdk::CallRef call, sdk::Completion done) override {
    clears.push_back(call);
    done({});
    call_event(sdk::CallEventType::cleared, call.call_id, call.device, call.device, "normal_clearing");
  }
  void set_agent_state(std::string device, std::string group, sdk::AgentState state, sdk::Completion done) override {
    agent_states.push_back(device + " " + group + " " + (state == sdk::AgentState::logged_in ? "in" : "out"));
    if (refuse_agent_state) return done(sdk::make_error(sdk::ErrorCode::refused, "scripted refusal"));
    done({});
  }
  void snapshot(std::string device, sdk::ResultCallback<sdk::DeviceSnapshot> done) override {
    done(sdk::DeviceSnapshot{device, sdk::DeviceState::idle, {}, {}});
  }

  // The test's script, run on the driver's strand.
  void offer(const std::string& call_id, const std::string& project, const std::string& caller) {
    callers[call_id] = caller;
    projects[call_id] = project;
    call_event(sdk::CallEventType::delivered, call_id, project, project, "new_call");
  }
  void answer(const std::string& call_id, const std::string& device) {
    call_event(sdk::CallEventType::established, call_id, device, device);
    set_state(device, sdk::DeviceState::busy);
  }
  void fail(const std::string& call_id, const std::string& device) {
    call_event(sdk::CallEventType::failed, call_id, device, device, "busy");
  }
  void hang_up(const std::string& call_id, const std::string& device) {
    call_event(sdk::CallEventType::cleared, call_id, device, callers[call_id], "normal_clearing");
  }
  // `from` dials `number` (a feature code such as the SA group's join code).
  void dial(const std::string& call_id, const std::string& from, const std::string& number) {
    callers[call_id] = from;
    projects[call_id] = number;
    call_event(sdk::CallEventType::originated, call_id, from, number);
  }
  void link(bool up, const std::string& detail) {
    publish(sdk::LinkEvent{ctx_.instance_name(), up, detail, ctx_.clock().now()});
  }
  void set_state(const std::string& device, sdk::DeviceState state) {
    publish(sdk::DeviceEvent{ctx_.instance_name(), device, state, ctx_.clock().now()});
  }

  std::vector<Deflect> deflects;
  std::map<std::string, sdk::ErrorCode> refuse;  // destination -> refusal
  std::set<std::string> monitored;
  std::vector<sdk::CallRef> clears;
  std::vector<std::string> agent_states;  // "101 300 in"
  bool refuse_agent_state = false;

 private:
  void call_event(sdk::CallEventType type, const std::string& call_id, const std::string& device,
                  const std::string& other, const std::string& cause = {}) {
    sdk::CallEvent e;
    e.type = type;
    e.driver = ctx_.instance_name();
    e.connection = {call_id, device};
    e.calling = callers[call_id];
    e.called = projects[call_id];
    e.other_device = other;
    e.cause = cause;
    e.at = ctx_.clock().now();
    publish(e);
  }
  void publish(sdk::Event e) { ctx_.events().publish(std::move(e)); }

  sdk::Context& ctx_;
  std::map<std::string, std::string> callers, projects;
};

}  // namespace scripted
