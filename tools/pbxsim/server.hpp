// switchboard-pbxsim's server: the switch side of CSTA XML (ECMA-323 over TCP, ECMA-354 sessions) on top
// of the simulated PBX model, with a control port for fault injection and a load mode for benchmarks.
// Everything runs on one io_context thread; the model is shared by every client.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "asio_scheduler.hpp"
#include "client_connection.hpp"
#include "control_session.hpp"
#include "load_recorder.hpp"
#include "pbx_model.hpp"
#include "scenario.hpp"

namespace switchboard::pbxsim {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (read the bound one back)
};

// "HOST:PORT" with an IP address and a port 0..65535.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

struct ServerOptions {
  ListenAddress csta;
  std::optional<ListenAddress> control;  // nothing: no control port
  std::optional<LoadOptions> load;       // load mode
  // Called once stop() has closed everything, e.g. to cancel a signal wait so io_context::run returns.
  std::function<void()> on_stopped;
};

class PbxSimServer final : private ClientConnection::Owner {
 public:
  PbxSimServer(sdk::asio::io_context& io, Scenario scenario, ServerOptions options,
               std::shared_ptr<spdlog::logger> log);
  ~PbxSimServer() override;
  PbxSimServer(const PbxSimServer&) = delete;
  PbxSimServer& operator=(const PbxSimServer&) = delete;

  // Binds the ports and starts accepting; throws boost::system::system_error when a port cannot be bound.
  void start();
  // Closes every connection and port and stops the model; idempotent.
  void stop();

  sdk::asio::ip::tcp::endpoint csta_endpoint() const;
  std::optional<sdk::asio::ip::tcp::endpoint> control_endpoint() const;
  // "listening csta=127.0.0.1:4711 control=127.0.0.1:4712" (control=none without a control port).
  std::string listening_line() const;

  // 0, or 1 when load mode's client never set up (or the load could not finish).
  int exit_code() const noexcept { return exit_code_; }
  // Load mode's result, once the load has finished.
  const std::optional<LoadReport>& load_report() const noexcept { return load_report_; }

  // One control command line; what the control port answers.
  ControlReply control(std::string_view line);

 private:
  struct Watcher {
    ClientConnection* client;
    std::string cross_ref;
  };
  struct Monitor {
    ClientConnection* client;
    std::string device;
  };
  struct Registration {
    ClientConnection* client;
    std::string device;
  };
  // A RouteRequest the client has not ended: the call waits at the routeing device for a RouteSelect.
  struct Route {
    ClientConnection* client;
    std::string register_id;
    std::string cross_ref;
    sdk::CallRef call;
  };

  // ClientConnection::Owner
  void on_frame(ClientConnection& client, const csta::FrameView& frame) override;
  void on_closed(ClientConnection& client) override;
  bool silent() const override { return silent_; }
  void on_load_frames_written(const std::vector<std::uint32_t>& load_calls) override;

  void accept_clients();
  void accept_control();
  void handle(ClientConnection& client, std::uint16_t invoke_id, csta::Message& request);
  void start_session(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void reset_session_timer(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void monitor_start(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void monitor_stop(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void snapshot_device(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void deflect_call(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void transfer_call(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void clear_connection(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void route_register(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void route_select(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);
  void route_end(ClientConnection& client, const csta::Message& request);
  void set_agent_state(ClientConnection& client, std::uint16_t invoke_id, const csta::Message& request);

  void respond(ClientConnection& client, std::uint16_t invoke_id, csta::MessageKind kind);
  void refuse(ClientConnection& client, std::uint16_t invoke_id, std::string_view category, std::string_view value,
              std::string_view why);
  // A model error as ECMA-269 CSTAErrorCode (see README: error mapping).
  void refuse_model_error(ClientConnection& client, std::uint16_t invoke_id, const sdk::Error& error,
                          const std::string& destination);
  void watch(ClientConnection& client, const std::string& device);

  void on_model_event(const sdk::Event& event);
  void fan_out(const std::string& device, csta::Message& event, std::int64_t load_call);
  void request_route(const sdk::CallEvent& delivered, std::int64_t load_call);
  // Takes the open route of `call` at call.device out of the books (before a request moves the call).
  std::optional<Route> take_route(const sdk::CallRef& call);
  void put_back_route(Route route);  // the request failed: the route is still open
  void end_route(const Route& route, std::string_view error_value);

  void set_silent(bool silent);
  bool is_device(const std::string& number) const;
  bool is_project(const std::string& number) const;
  std::string status_line() const;

  // Load mode.
  void start_load();
  void pace_load();
  LoadRecorder::Clock::time_point load_call_scheduled_at(std::uint64_t sequence) const;  // start + i / rate
  void offer_load_call(std::uint64_t sequence);
  void expire_load_calls();
  void load_call_routed(const std::string& call_id, const std::string& destination,
                        LoadRecorder::Clock::time_point received_at);
  void finish_load_soon();

  sdk::asio::io_context& io_;
  Scenario scenario_;
  ServerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  AsioScheduler scheduler_;
  sim::PbxModel model_;
  std::set<std::string> projects_;
  std::set<std::string> extensions_;
  sdk::asio::ip::tcp::acceptor csta_acceptor_;
  sdk::asio::ip::tcp::acceptor control_acceptor_;

  std::vector<std::shared_ptr<ClientConnection>> clients_;
  std::vector<std::weak_ptr<ControlSession>> control_sessions_;
  std::uint64_t next_client_ = 1;
  bool silent_ = false;
  bool stopped_ = false;

  std::unordered_map<std::string, std::vector<Watcher>> watchers_;  // device -> its monitors, oldest first
  std::map<std::string, Monitor> monitors_;                         // monitorCrossRefID -> monitor
  std::uint64_t next_monitor_ = 1;
  std::uint64_t next_session_ = 1;

  std::map<std::string, Registration> registrations_;           // routeRegisterReqID -> registration
  std::map<std::string, std::string> registration_by_device_;   // routeing device -> routeRegisterReqID
  std::unordered_map<std::string, Route> routes_;               // routingCrossRefID -> open route
  std::unordered_map<std::string, std::string> route_by_call_;  // callID -> routingCrossRefID
  std::uint64_t next_registration_ = 1;
  std::uint64_t next_route_ = 1;

  std::uint64_t calls_offered_ = 0;
  std::uint64_t calls_routed_ = 0;  // deflected away from a project by DeflectCall or RouteSelect

  std::optional<LoadRecorder> load_;
  bool load_started_ = false;
  bool load_finishing_ = false;
  LoadRecorder::Clock::time_point load_start_;
  std::int64_t offering_load_call_ = -1;  // set while the model offers a load call, for its Delivered
  sdk::asio::steady_timer setup_timer_;
  sdk::asio::steady_timer pacing_timer_;
  sdk::asio::steady_timer expiry_timer_;
  std::optional<LoadReport> load_report_;
  int exit_code_ = 0;
};

}  // namespace switchboard::pbxsim
