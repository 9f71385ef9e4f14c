// Extension point: PBX driver. Speaks one PBX protocol; publishes normalised CallEvent, DeviceEvent and
// LinkEvent on the context's event bus; carries out the call engine's requests.
#pragma once

#include <string>
#include <vector>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/instance.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

struct DriverCapabilities {
  bool deflect = false;               // move an alerting call elsewhere (CSTA DeflectCall / RouteSelect)
  bool single_step_transfer = false;  // move an answered call
  bool clear_connection = false;
  bool snapshot = false;
  bool make_call = false;
  bool agent_state = false;           // join/leave hunt groups
  bool admin_command = false;         // raw administration commands (audited by the core)
};

struct DeviceSnapshot {
  std::string device;
  DeviceState state = DeviceState::unknown;
  std::vector<CallRef> calls;
  std::vector<ConnectionState> states;  // per entry of `calls`
};

enum class AgentState { logged_in, logged_out, ready, not_ready };

class PbxDriver : public Instance {
 public:
  static constexpr Category category = Category::driver;

  virtual DriverCapabilities capabilities() const = 0;

  // Watch these devices (deduplicated by the driver); monitors survive reconnects: the driver re-creates
  // them after every LinkUp and publishes fresh DeviceEvents from snapshots.
  virtual void monitor(std::vector<std::string> devices, Completion done) = 0;
  // Send an alerting call on to `destination`. Fails with busy / refused / unavailable.
  virtual void deflect(CallRef call, std::string destination, Completion done) = 0;
  // Move an answered call to `destination`.
  virtual void transfer(CallRef call, std::string destination, Completion done) = 0;
  // Drop `call`'s connection at its device.
  virtual void clear(CallRef call, Completion done) = 0;
  virtual void snapshot(std::string device, ResultCallback<DeviceSnapshot> done) = 0;

  // Optional capabilities: the defaults answer not_supported.
  virtual void make_call(std::string from, std::string to, Completion done) {
    done(make_error(ErrorCode::not_supported, "this driver cannot make calls"));
  }
  virtual void set_agent_state(std::string device, std::string group, AgentState state, Completion done) {
    done(make_error(ErrorCode::not_supported, "this driver cannot set agent state"));
  }
  // A raw administration command (e.g. an AMO); the answer text on success. The core audits it.
  virtual void admin_command(std::string command, ResultCallback<std::string> done) {
    done(make_error(ErrorCode::not_supported, "this driver has no administration channel"));
  }
};

}  // namespace switchboard::sdk
