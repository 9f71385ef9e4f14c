// PBX driver `csta`: CSTA XML (ECMA-323) over TCP with the ECMA-323 Annex J.2 framing, optional ECMA-354
// application session, link supervision by keep-alives, and routing by DeflectCall or by the routeing
// services (RouteRegister / RouteRequest / RouteSelect). See docs/drivers/csta.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "codec/framing.hpp"
#include "codec/message.hpp"
#include "csta_link.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/driver.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace switchboard::drivers::csta_driver {

class CstaDriver final : public sdk::PbxDriver {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  CstaDriver(sdk::Context& context, const sdk::Settings& settings);
  ~CstaDriver() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;

  sdk::DriverCapabilities capabilities() const override;
  void monitor(std::vector<std::string> devices, sdk::Completion done) override;
  void deflect(sdk::CallRef call, std::string destination, sdk::Completion done) override;
  void transfer(sdk::CallRef call, std::string destination, sdk::Completion done) override;
  void clear(sdk::CallRef call, sdk::Completion done) override;
  void snapshot(std::string device, sdk::ResultCallback<sdk::DeviceSnapshot> done) override;
  void set_agent_state(std::string device, std::string group, sdk::AgentState state, sdk::Completion done) override;

 private:
  enum class Mode { deflect, routeing };
  enum class LinkState { stopped, connecting, opening, up, waiting };  // waiting: backoff before reconnecting

  struct Options {
    std::string host;
    std::uint16_t port = 0;
    bool session = false;
    std::string application_id;
    std::string user;
    std::string password;
    std::chrono::milliseconds session_duration{0};
    std::chrono::milliseconds heartbeat_interval{0};
    std::int64_t heartbeat_misses = 0;
    std::chrono::milliseconds request_timeout{0};
    std::chrono::milliseconds connect_timeout{0};
    std::chrono::milliseconds reconnect_initial{0};
    std::chrono::milliseconds reconnect_max{0};
    double reconnect_jitter = 0;
    Mode mode = Mode::deflect;
    std::vector<std::string> extra_devices;
    std::optional<std::vector<std::string>> routeing_devices;  // nothing: every routed project number
    std::size_t max_frame_bytes = csta::kMaxFrameBytes;
  };

  // The switch's answer, or why there is none. The message is the driver's decode buffer, valid only during
  // the call: an answer handler copies what it keeps.
  using Answer = std::function<void(sdk::Result<const csta::Message*>)>;
  struct PendingRequest {
    csta::MessageKind kind;
    Answer answer;
    sdk::Timer timeout;
  };
  // A request that found every invokeID waiting for an answer: sent, in order, as answers free ids.
  struct WaitingRequest {
    csta::MessageKind kind;
    std::string body;
    Answer answer;
    std::chrono::milliseconds timeout;
    std::chrono::steady_clock::time_point since;
  };
  // A call waiting at a routeing device for our RouteSelect.
  struct OpenRoute {
    std::string register_id;
    std::string cross_ref;
    std::string device;    // the routeing device (normalised)
    std::string selected;  // the last destination we selected; a ReRoute is reported as failed there
  };
  // What the driver knows of one monitored device: its calls and their local states.
  struct WatchedDevice {
    std::string raw;              // as configured or as the switch last wrote it: requests use this form
    std::string cross_ref;        // current monitor; empty until the switch accepted MonitorStart
    bool requested = false;       // MonitorStart sent on this connection
    std::map<std::string, sdk::ConnectionState> calls;
    sdk::DeviceState published = sdk::DeviceState::unknown;
  };

  static Options read_options(const sdk::Settings& settings);

  // Link life cycle.
  void connect();
  void on_connected(std::uint64_t generation);
  void open_session();
  void register_routes();
  void start_monitors();
  void link_ready();
  void link_lost(const std::string& reason);
  void schedule_reconnect();
  void supervise();
  void renew_session();

  // Requests and answers.
  void request(csta::Message message, Answer answer, std::optional<std::chrono::milliseconds> timeout = {});
  void send_unsolicited(std::uint16_t invoke_id, const csta::Message& message);
  void on_frame(const csta::FrameView& frame);
  void on_response(std::uint16_t invoke_id, const csta::Message& message);
  void on_switch_request(std::uint16_t invoke_id, const csta::Message& message);
  void on_event(const csta::Message& message);
  void fail_pending(const sdk::Error& error);
  void send_request(csta::MessageKind kind, const std::string& body, Answer answer, std::chrono::milliseconds timeout);
  void send_waiting();

  // Monitors and device state.
  void monitor_device(const std::string& device);
  void apply_snapshot(const std::string& device, const std::vector<csta::SnapshotEntry>& entries);
  void track(WatchedDevice& device, const std::string& call_id, std::optional<sdk::ConnectionState> state);
  void publish_state(const std::string& device, WatchedDevice& watched, bool always = false);
  // The normalised device an event is about; a view into the message or the monitor table.
  std::string_view device_of(const csta::Message& message) const;
  std::string raw_form(const std::string& device) const;

  void on_route_request(std::uint16_t invoke_id, const csta::Message& message);
  void publish(sdk::Event event);
  bool refuse_unless_up(const sdk::Completion& done, const char* request);
  static sdk::Error error_of(const csta::Message& answer, const char* request);

  sdk::Context& context_;
  Options options_;
  LinkState state_ = LinkState::stopped;
  std::shared_ptr<CstaLink> link_;
  std::uint64_t generation_ = 0;  // one per connection attempt: late callbacks of an old link are ignored
  bool was_up_ = false;           // a LinkDown is published only after a LinkUp
  bool reported_unreachable_ = false;
  std::uint64_t reconnect_attempt_ = 0;
  std::mt19937_64 jitter_random_;
  sdk::Timer connect_timer_;
  sdk::Timer reconnect_timer_;
  sdk::Timer supervision_timer_;
  sdk::Timer session_timer_;
  std::chrono::steady_clock::time_point last_answer_{};
  std::chrono::steady_clock::time_point last_heartbeat_{};
  std::string session_id_;

  csta::InvokeIdAllocator invoke_ids_;
  std::unordered_map<std::uint16_t, PendingRequest> pending_;
  // Flow control: a burst (a switch that lagged, then answered at once) waits here instead of being refused.
  std::deque<WaitingRequest> waiting_for_id_;
  static constexpr std::size_t max_waiting_for_id = 10'000;
  csta::Message incoming_;  // every frame is decoded into this one: its strings keep their buffers
  std::size_t opening_outstanding_ = 0;  // MonitorStart / SnapshotDevice answers awaited before LinkUp
  std::vector<sdk::Event> held_;         // call events that arrived while opening: published after LinkUp

  std::map<std::string, WatchedDevice, std::less<>> devices_;        // by normalised device id
  std::set<std::string, std::less<>> project_devices_;               // the routing strategies' numbers: always idle
  std::unordered_map<std::string, std::string> monitors_;  // monitorCrossRefID → device
  std::set<std::string, std::less<>> registered_routeing_devices_;     // RouteRegister accepted on this connection
  std::unordered_map<std::string, OpenRoute> routes_;     // by call id
  std::unordered_map<std::string, std::string> calls_by_route_;  // routingCrossRefID → call id
};

void register_csta_driver(sdk::Registrar& registrar);

}  // namespace switchboard::drivers::csta_driver
