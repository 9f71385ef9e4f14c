#include "server.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace switchboard::pbxsim {
namespace {

namespace asio = sdk::asio;
using asio::ip::tcp;
using csta::Message;
using csta::MessageKind;
using error_code = boost::system::error_code;

constexpr std::chrono::seconds kDefaultSessionDuration{300};
// A frame whose length field (4) is shorter than its own header: every CSTA client must reset the link.
constexpr std::string_view kGarbageFrame{"\x00\x00\x00\x04" "9999", 8};
constexpr std::chrono::milliseconds kExpiryTick{100};
// Load mode: the pacing timer wakes this long before a call's scheduled time, then pbxsim re-checks the clock
// on every turn of the event loop until it is due (a timer alone wakes tens of microseconds late).
constexpr std::chrono::microseconds kPacingSpin{200};

// ECMA-269 error values pbxsim answers with (category, value); the README lists when.
constexpr std::string_view kOperation = "operation";
constexpr std::string_view kStateIncompatibility = "stateIncompatibility";
constexpr std::string_view kSystemResourceAvailability = "systemResourceAvailability";
constexpr std::string_view kRequestIncompatible = "requestIncompatibleWithObject";

std::optional<std::chrono::seconds> positive_seconds(std::string_view text) {
  std::int64_t seconds = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc{} || end != text.data() + text.size() || seconds <= 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

tcp::acceptor bind_acceptor(asio::io_context& io, const ListenAddress& address) {
  tcp::endpoint endpoint(asio::ip::make_address(address.host), address.port);
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen();
  return acceptor;
}

// The model's call event as the CSTA event a monitor of its device receives (monitorCrossRefID left to
// the caller), or nothing for the types the model does not produce as CSTA events.
std::optional<Message> csta_event(const sdk::CallEvent& event) {
  Message m;
  m.connection = event.connection;
  m.cause = event.cause;
  switch (event.type) {
    case sdk::CallEventType::delivered:
      m.kind = MessageKind::delivered;
      m.alerting_device = event.other_device;
      m.calling_device = event.calling;
      m.called_device = event.called;
      m.last_redirection_device = event.redirecting;
      m.local_connection_info = sdk::ConnectionState::alerting;
      return m;
    case sdk::CallEventType::established:
      m.kind = MessageKind::established;
      m.answering_device = event.other_device;
      m.calling_device = event.calling;
      m.called_device = event.called;
      m.local_connection_info = sdk::ConnectionState::connected;
      return m;
    case sdk::CallEventType::cleared:
      m.kind = MessageKind::connection_cleared;
      m.releasing_device = event.other_device;
      m.local_connection_info = sdk::ConnectionState::null;
      return m;
    case sdk::CallEventType::diverted:
      m.kind = MessageKind::diverted;
      m.new_destination = event.other_device;
      m.calling_device = event.calling;
      m.called_device = event.called;
      return m;
    case sdk::CallEventType::failed:
      m.kind = MessageKind::failed;
      m.calling_device = event.calling;
      m.called_device = event.other_device;
      m.local_connection_info = sdk::ConnectionState::fail;
      return m;
    case sdk::CallEventType::originated:
      m.kind = MessageKind::originated;
      m.calling_device = event.calling;
      m.called_device = event.called;
      m.local_connection_info = event.local_state;
      return m;
    case sdk::CallEventType::transferred:
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < line.size()) {
    auto start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    auto end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    at = end;
  }
  return words;
}

sim::PbxModelSettings model_settings_for(const Scenario& scenario, const ServerOptions& options) {
  auto settings = scenario.calls;
  if (options.load) {
    // Load mode offers its own calls; operators never answer and all are logged in, so every routing
    // decision meets a free extension and the measurement is of the client, not of the model's dice.
    settings.calls_per_minute = 0;
    settings.answer_probability = 0;
    settings.offline_operators = 0;
  }
  return settings;
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string host(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  error_code error;
  asio::ip::make_address(host, error);
  if (error) return std::nullopt;
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, parse_error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (parse_error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) return std::nullopt;
  return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

PbxSimServer::PbxSimServer(asio::io_context& io, Scenario scenario, ServerOptions options,
                           std::shared_ptr<spdlog::logger> log)
    : io_(io),
      scenario_(std::move(scenario)),
      options_(std::move(options)),
      log_(std::move(log)),
      scheduler_(io),
      model_(model_settings_for(scenario_, options_), scheduler_,
             [this](const sim::PbxModel::EventMaker& make) { on_model_event(make()); }),
      projects_(scenario_.projects.begin(), scenario_.projects.end()),
      extensions_(scenario_.extensions.begin(), scenario_.extensions.end()),
      csta_acceptor_(io),
      control_acceptor_(io),
      setup_timer_(io),
      pacing_timer_(io),
      expiry_timer_(io) {
  // Once, in this order, so a seed gives the same devices and traffic as the in-process sim driver.
  model_.set_projects(scenario_.projects);
  model_.set_known_callers(scenario_.callers);
  model_.add_devices(scenario_.extensions);
  for (const auto& group : scenario_.hunt_groups) model_.set_hunt_group(group.number, group.members);
  if (options_.load) load_.emplace(options_.load->calls);
}

PbxSimServer::~PbxSimServer() = default;

void PbxSimServer::start() {
  csta_acceptor_ = bind_acceptor(io_, options_.csta);
  if (options_.control) control_acceptor_ = bind_acceptor(io_, *options_.control);
  log_->info("listening csta={} control={} projects={} extensions={} offline={} seed={}{}",
             endpoint_text(csta_endpoint()), control_acceptor_.is_open() ? endpoint_text(*control_endpoint()) : "none",
             scenario_.projects.size(), scenario_.extensions.size(), fmt::join(model_.offline_operators(), ","),
             scenario_.calls.seed,
             options_.load ? fmt::format(" load={} rate={}/s", options_.load->calls, options_.load->rate) : "");
  accept_clients();
  if (control_acceptor_.is_open()) accept_control();
  if (options_.load) {
    setup_timer_.expires_after(options_.load->setup_timeout);
    setup_timer_.async_wait([this](const error_code& error) {
      if (error || load_started_) return;
      log_->error("no client set up within {} ms: the load never started", options_.load->setup_timeout.count());
      exit_code_ = 1;
      stop();
    });
  }
}

void PbxSimServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  error_code ignored;
  csta_acceptor_.close(ignored);
  control_acceptor_.close(ignored);
  for (auto& weak : control_sessions_)
    if (auto session = weak.lock()) session->close();
  control_sessions_.clear();
  auto clients = clients_;  // closing a client removes it from clients_
  for (auto& client : clients) client->close("pbxsim stops");
  setup_timer_.cancel();
  pacing_timer_.cancel();
  expiry_timer_.cancel();
  model_.stop();
  log_->info("stopped calls_offered={} calls_routed={}", calls_offered_, calls_routed_);
  if (options_.on_stopped) options_.on_stopped();
}

tcp::endpoint PbxSimServer::csta_endpoint() const { return csta_acceptor_.local_endpoint(); }

std::optional<tcp::endpoint> PbxSimServer::control_endpoint() const {
  if (!control_acceptor_.is_open()) return std::nullopt;
  return control_acceptor_.local_endpoint();
}

std::string PbxSimServer::listening_line() const {
  auto control = control_endpoint();
  return "listening csta=" + endpoint_text(csta_endpoint()) +
         " control=" + (control ? endpoint_text(*control) : std::string("none"));
}

void PbxSimServer::accept_clients() {
  csta_acceptor_.async_accept([this](const error_code& error, tcp::socket socket) {
    if (stopped_) return;
    if (error) {
      log_->warn("accept failed error=\"{}\"", error.message());
    } else {
      ClientConnection::Supervision supervision{scenario_.status_interval, scenario_.status_misses};
      Owner& owner = *this;  // a private base: converted here, where it is accessible
      auto client = std::make_shared<ClientConnection>(owner, std::move(socket), next_client_++, supervision, log_);
      clients_.push_back(client);
      log_->info("client connected client={} peer={} clients={}", client->number(), client->peer(), clients_.size());
      client->start();
    }
    accept_clients();
  });
}

void PbxSimServer::accept_control() {
  control_acceptor_.async_accept([this](const error_code& error, tcp::socket socket) {
    if (stopped_) return;
    if (!error) {
      auto session = std::make_shared<ControlSession>(
          std::move(socket), [this](std::string_view line) { return control(line); }, [this] { stop(); }, log_);
      std::erase_if(control_sessions_, [](const auto& weak) { return weak.expired(); });
      control_sessions_.push_back(session);
      session->start();
    }
    accept_control();
  });
}

// ----- requests ----------------------------------------------------------------------------------------

void PbxSimServer::on_frame(ClientConnection& client, const csta::FrameView& frame) {
  if (silent_) {
    log_->debug("rx discarded while silent client={} invoke={:04d}", client.number(), frame.invoke_id);
    return;
  }
  auto decoded = csta::decode_message(frame.body);
  if (!decoded) {
    log_->warn("undecodable request client={} invoke={:04d} error=\"{}\"", client.number(), frame.invoke_id,
               decoded.error().message);
    if (!frame.is_event()) refuse(client, frame.invoke_id, kOperation, kRequestIncompatible, "undecodable");
    return;
  }
  log_->debug("rx client={} invoke={:04d} kind={}", client.number(), frame.invoke_id,
              decoded->kind == MessageKind::unknown ? decoded->root_name : csta::to_string(decoded->kind));
  handle(client, frame.invoke_id, *decoded);
}

void PbxSimServer::handle(ClientConnection& client, std::uint16_t invoke_id, Message& request) {
  if (request.kind == MessageKind::system_status_response) {
    client.status_answered(invoke_id);
    return;
  }
  if (scenario_.session.required && client.session_id.empty() &&
      request.kind != MessageKind::start_application_session) {
    refuse(client, invoke_id, kStateIncompatibility, "invalidObjectState", "no application session yet");
    return;
  }
  switch (request.kind) {
    case MessageKind::system_status: respond(client, invoke_id, MessageKind::system_status_response); return;
    case MessageKind::start_application_session: start_session(client, invoke_id, request); return;
    case MessageKind::reset_application_session_timer: reset_session_timer(client, invoke_id, request); return;
    case MessageKind::monitor_start: monitor_start(client, invoke_id, request); return;
    case MessageKind::monitor_stop: monitor_stop(client, invoke_id, request); return;
    case MessageKind::snapshot_device: snapshot_device(client, invoke_id, request); return;
    case MessageKind::deflect_call: deflect_call(client, invoke_id, request); return;
    case MessageKind::single_step_transfer_call: transfer_call(client, invoke_id, request); return;
    case MessageKind::clear_connection: clear_connection(client, invoke_id, request); return;
    case MessageKind::route_register: route_register(client, invoke_id, request); return;
    // Route services from the client are not confirmed: the outcome shows as events, ReRoute or RouteEnd.
    case MessageKind::route_select: route_select(client, invoke_id, request); return;
    case MessageKind::route_end: route_end(client, request); return;
    case MessageKind::set_agent_state: set_agent_state(client, invoke_id, request); return;
    default: break;
  }
  if (invoke_id == csta::kEventInvokeId) {
    log_->debug("ignored unsolicited message client={} root={}", client.number(), request.root_name);
    return;
  }
  refuse(client, invoke_id, kOperation, kRequestIncompatible, "not a request pbxsim serves: " + request.root_name);
}

void PbxSimServer::respond(ClientConnection& client, std::uint16_t invoke_id, MessageKind kind) {
  Message response;
  response.kind = kind;
  client.send(invoke_id, response);
}

void PbxSimServer::refuse(ClientConnection& client, std::uint16_t invoke_id, std::string_view category,
                          std::string_view value, std::string_view why) {
  log_->debug("refused client={} invoke={:04d} error={}/{} why=\"{}\"", client.number(), invoke_id, category, value,
              why);
  Message error;
  error.kind = MessageKind::csta_error_code;
  error.error_category = std::string(category);
  error.error_value = std::string(value);
  client.send(invoke_id, error);
}

void PbxSimServer::refuse_model_error(ClientConnection& client, std::uint16_t invoke_id, const sdk::Error& error,
                                      const std::string& destination) {
  switch (error.code) {
    case sdk::ErrorCode::busy:
      refuse(client, invoke_id, kSystemResourceAvailability, "resourceBusy", error.message);
      return;
    case sdk::ErrorCode::refused:
      refuse(client, invoke_id, kStateIncompatibility, "invalidConnectionState", error.message);
      return;
    case sdk::ErrorCode::unavailable:
      if (is_device(destination))
        refuse(client, invoke_id, kSystemResourceAvailability, "resourceOutOfService", error.message);
      else
        refuse(client, invoke_id, kOperation, "invalidDestination", error.message);
      return;
    case sdk::ErrorCode::invalid_argument:
      refuse(client, invoke_id, kOperation, "invalidDestination", error.message);
      return;
    default:
      refuse(client, invoke_id, kOperation, "generic", error.message);
      return;
  }
}

void PbxSimServer::start_session(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  const auto& wanted = scenario_.session;
  bool accepted = (wanted.application_id.empty() || request.application_id == wanted.application_id) &&
                  (wanted.user.empty() || request.user == wanted.user) &&
                  (wanted.password.empty() || request.password == wanted.password);
  if (!accepted) {
    log_->warn("session refused client={} application_id=\"{}\" user=\"{}\"", client.number(), request.application_id,
               request.user);
    Message refusal;
    refusal.kind = MessageKind::start_application_session_neg_response;
    refusal.error_category = "definedError";
    refusal.error_value = "invalidApplicationInfo";
    client.send(invoke_id, refusal);
    return;
  }
  auto duration = positive_seconds(request.session_duration).value_or(kDefaultSessionDuration);
  client.session_id = fmt::format("pbxsim-{}", next_session_++);
  Message response;
  response.kind = MessageKind::start_application_session_pos_response;
  response.session_id = client.session_id;
  response.protocol_version =
      request.protocol_version.empty() ? std::string(csta::kCstaNamespace) : request.protocol_version;
  response.session_duration = std::to_string(duration.count());
  client.send(invoke_id, response);
  client.arm_session(duration);
  log_->info("session started client={} session={} duration={}s", client.number(), client.session_id,
             duration.count());
}

void PbxSimServer::reset_session_timer(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  if (client.session_id.empty() || (!request.session_id.empty() && request.session_id != client.session_id)) {
    refuse(client, invoke_id, kStateIncompatibility, "invalidObjectState", "no such session: " + request.session_id);
    return;
  }
  auto duration = positive_seconds(request.session_duration).value_or(kDefaultSessionDuration);
  client.arm_session(duration);
  Message response;
  response.kind = MessageKind::reset_application_session_timer_response;
  response.session_duration = std::to_string(duration.count());
  client.send(invoke_id, response);
}

void PbxSimServer::monitor_start(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  const auto& device = request.device_id;
  if (!is_device(device)) {
    refuse(client, invoke_id, kOperation, "invalidDeviceID", "no device " + device);
    return;
  }
  Message response;
  response.kind = MessageKind::monitor_start_response;
  if (auto existing = client.monitor_by_device.find(device); existing != client.monitor_by_device.end()) {
    response.monitor_cross_ref_id = existing->second;  // one monitor per device and client
  } else {
    response.monitor_cross_ref_id = fmt::format("M{}", next_monitor_++);
    client.monitor_by_device.emplace(device, response.monitor_cross_ref_id);
    monitors_.emplace(response.monitor_cross_ref_id, Monitor{&client, device});
    watchers_[device].push_back({&client, response.monitor_cross_ref_id});
  }
  client.send(invoke_id, response);
  watch(client, device);
}

void PbxSimServer::monitor_stop(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  auto it = monitors_.find(request.monitor_cross_ref_id);
  if (it == monitors_.end() || it->second.client != &client) {
    refuse(client, invoke_id, kOperation, "invalidCrossRefID", "no monitor " + request.monitor_cross_ref_id);
    return;
  }
  auto& watchers = watchers_[it->second.device];
  std::erase_if(watchers, [&](const Watcher& w) { return w.cross_ref == request.monitor_cross_ref_id; });
  client.monitor_by_device.erase(it->second.device);
  monitors_.erase(it);
  respond(client, invoke_id, MessageKind::monitor_stop_response);
}

void PbxSimServer::snapshot_device(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  auto snapshot = is_device(request.device_id) ? model_.snapshot(request.device_id) : std::nullopt;
  if (!snapshot) {
    refuse(client, invoke_id, kOperation, "invalidDeviceID", "no device " + request.device_id);
    return;
  }
  Message response;
  response.kind = MessageKind::snapshot_device_response;
  for (std::size_t i = 0; i < snapshot->calls.size(); ++i)
    response.snapshot.push_back({snapshot->calls[i], snapshot->states[i]});
  client.send(invoke_id, response);
}

void PbxSimServer::deflect_call(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  auto received_at = LoadRecorder::Clock::now();
  // A call waiting for a route may be deflected directly too; its route then ends after the events.
  auto route = take_route(request.connection);
  bool deflected = false;
  model_.deflect(request.connection, request.new_destination, [&](const sdk::Status& status) {
    deflected = status.ok();
    if (deflected)
      respond(client, invoke_id, MessageKind::deflect_call_response);  // before the events the deflect causes
    else
      refuse_model_error(client, invoke_id, status.error(), request.new_destination);
  });
  if (!deflected) {
    if (route) put_back_route(std::move(*route));
    if (load_ && load_->find(request.connection.call_id)) load_->error_answer();
    return;
  }
  if (is_project(request.connection.device)) ++calls_routed_;
  if (route) end_route(*route, "");
  load_call_routed(request.connection.call_id, request.new_destination, received_at);
}

void PbxSimServer::transfer_call(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  model_.transfer(request.connection, request.new_destination, [&](const sdk::Status& status) {
    if (!status) {
      refuse_model_error(client, invoke_id, status.error(), request.new_destination);
      return;
    }
    Message response;
    response.kind = MessageKind::single_step_transfer_call_response;
    response.connection = {request.connection.call_id, request.new_destination};  // the call keeps its id
    client.send(invoke_id, response);
  });
}

void PbxSimServer::clear_connection(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  model_.clear(request.connection, [&](const sdk::Status& status) {
    if (status)
      respond(client, invoke_id, MessageKind::clear_connection_response);
    else
      refuse_model_error(client, invoke_id, status.error(), request.connection.device);
  });
}

void PbxSimServer::route_register(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  const auto& device = request.device_id;
  if (!is_project(device)) {
    refuse(client, invoke_id, kOperation, "invalidDeviceID", "not a routeing device (project): " + device);
    return;
  }
  std::string register_id;
  if (auto existing = registration_by_device_.find(device); existing != registration_by_device_.end()) {
    if (registrations_.at(existing->second).client != &client) {
      refuse(client, invoke_id, kOperation, kRequestIncompatible, device + " is registered by another client");
      return;
    }
    register_id = existing->second;
  } else {
    register_id = fmt::format("R{}", next_registration_++);
    registrations_.emplace(register_id, Registration{&client, device});
    registration_by_device_.emplace(device, register_id);
    log_->info("route registered client={} device={} id={}", client.number(), device, register_id);
  }
  Message response;
  response.kind = MessageKind::route_register_response;
  response.route_register_req_id = register_id;
  client.send(invoke_id, response);
  watch(client, device);
}

void PbxSimServer::route_select(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  auto received_at = LoadRecorder::Clock::now();
  auto it = routes_.find(request.routing_cross_ref_id);
  if (it == routes_.end() || it->second.client != &client) {
    // RouteSelect has no positive response; this negative one echoes its invoke id like any other.
    refuse(client, invoke_id, kOperation, "invalidCrossRefID", "no open route " + request.routing_cross_ref_id);
    return;
  }
  auto route = take_route(it->second.call);
  bool deflected = false;
  std::string why;
  model_.deflect(route->call, request.new_destination, [&](const sdk::Status& status) {
    deflected = status.ok();
    if (!deflected) why = status.error().message;
  });
  if (!deflected) {
    log_->debug("route refused client={} cross_ref={} destination={} why=\"{}\"", client.number(), route->cross_ref,
                request.new_destination, why);
    if (load_ && load_->find(route->call.call_id)) load_->error_answer();
    put_back_route(*route);
    Message reroute;
    reroute.kind = MessageKind::re_route;
    reroute.route_register_req_id = route->register_id;
    reroute.routing_cross_ref_id = route->cross_ref;
    client.send(client.next_invoke_id(), reroute);
    return;
  }
  ++calls_routed_;
  end_route(*route, "");
  load_call_routed(route->call.call_id, request.new_destination, received_at);
}

void PbxSimServer::route_end(ClientConnection& client, const Message& request) {
  auto it = routes_.find(request.routing_cross_ref_id);
  if (it == routes_.end() || it->second.client != &client) {
    log_->debug("RouteEnd for no open route client={} cross_ref={}", client.number(), request.routing_cross_ref_id);
    return;  // it may have ended on our side at the same time
  }
  route_by_call_.erase(it->second.call.call_id);
  routes_.erase(it);
}

void PbxSimServer::set_agent_state(ClientConnection& client, std::uint16_t invoke_id, const Message& request) {
  const auto& device = request.device_id;
  if (extensions_.count(device) == 0) {
    refuse(client, invoke_id, kOperation, "invalidDeviceID", "no extension " + device);
    return;
  }
  // The model knows membership only: logged on and ready take the group's calls, the rest do not.
  const auto& state = request.agent_state;
  bool joined = state == "loggedOn" || state == "ready";
  if (!joined && state != "loggedOff" && state != "notReady") {
    refuse(client, invoke_id, kOperation, "invalidAgentState", "agent state not simulated: " + state);
    return;
  }
  // Without a group: every group the device is a member of, as a switch logs an agent on to all of them.
  auto groups = request.agent_group.empty() ? model_.groups_of(device)
                                            : sim::hunt_groups_following(scenario_.hunt_groups, request.agent_group);
  if (groups.empty() && !request.agent_group.empty()) {
    // An SA group whose calls Switchboard distributes itself: the switch keeps the membership, nothing rings.
    log_->info("agent state client={} device={} state={} sa_group={} (no hunt group rings for it)", client.number(),
               device, state, request.agent_group);
    respond(client, invoke_id, MessageKind::set_agent_state_response);
    return;
  }
  if (groups.empty()) {
    refuse(client, invoke_id, kOperation, "invalidAgentGroup",
           request.agent_group.empty() ? device + " is in no hunt group" : "no hunt group " + request.agent_group);
    return;
  }
  for (const auto& group : groups)
    if (!model_.set_group_member(group, device, joined)) {
      refuse(client, invoke_id, kOperation, "invalidAgentGroup", device + " is not a member of hunt group " + group);
      return;
    }
  log_->info("agent state client={} device={} state={} groups={}", client.number(), device, state,
             fmt::join(groups, ","));
  respond(client, invoke_id, MessageKind::set_agent_state_response);
}

void PbxSimServer::watch(ClientConnection& client, const std::string& device) {
  client.devices_watched.insert(device);
  if (client.set_up) return;
  auto watched = [&](const std::string& number) { return client.devices_watched.count(number) != 0; };
  if (!std::all_of(projects_.begin(), projects_.end(), watched) ||
      !std::all_of(extensions_.begin(), extensions_.end(), watched))
    return;
  client.set_up = true;
  log_->info("client set up client={} monitors={}", client.number(), client.monitor_by_device.size());
  if (load_) {
    start_load();
  } else if (!model_.running()) {
    model_.start();
    log_->info("traffic starts calls_per_minute={} speed={}", scenario_.calls.calls_per_minute, scenario_.calls.speed);
  }
}

void PbxSimServer::on_closed(ClientConnection& client) {
  for (const auto& [device, cross_ref] : client.monitor_by_device) {
    std::erase_if(watchers_[device], [&](const Watcher& w) { return w.client == &client; });
    monitors_.erase(cross_ref);
  }
  client.monitor_by_device.clear();
  std::erase_if(registrations_, [&](const auto& entry) {
    if (entry.second.client != &client) return false;
    registration_by_device_.erase(entry.second.device);
    return true;
  });
  std::erase_if(routes_, [&](const auto& entry) {
    if (entry.second.client != &client) return false;
    route_by_call_.erase(entry.second.call.call_id);
    return true;
  });
  std::erase_if(clients_, [&](const auto& held) { return held.get() == &client; });
  if (clients_.empty() && (model_.running() || model_.active_calls() != 0)) {
    // Like a switch whose CTI link is gone: the calls it knew are lost to the application.
    log_->info("last client gone: traffic stops calls_dropped={}", model_.active_calls());
    model_.stop();
  }
}

// ----- model events --------------------------------------------------------------------------------------

void PbxSimServer::on_model_event(const sdk::Event& event) {
  // Device states (logged in or out, idle, busy) have no CSTA event here: agent events are not simulated,
  // and SnapshotDevice gives a device's calls.
  const auto* call = std::get_if<sdk::CallEvent>(&event);
  if (!call) return;
  auto message = csta_event(*call);
  if (!message) return;
  std::int64_t load_call = -1;
  bool new_call = call->type == sdk::CallEventType::delivered && call->cause == "new_call";
  if (new_call) {
    ++calls_offered_;
    if (offering_load_call_ >= 0) {
      load_call = offering_load_call_;
      load_->bind(static_cast<std::uint32_t>(load_call), call->connection.call_id);
    }
  }
  fan_out(call->connection.device, *message, load_call);
  if (call->type == sdk::CallEventType::delivered) {
    request_route(*call, load_call);
  } else if (call->type == sdk::CallEventType::cleared) {
    // The caller hung up (or the call was cleared) while the client was still choosing a route.
    if (auto route = take_route(call->connection)) end_route(*route, "generic");
  }
}

void PbxSimServer::fan_out(const std::string& device, Message& event, std::int64_t load_call) {
  auto it = watchers_.find(device);
  if (it == watchers_.end()) return;
  for (const auto& watcher : it->second) {
    event.monitor_cross_ref_id = watcher.cross_ref;
    watcher.client->send(csta::kEventInvokeId, event, load_call);
  }
}

void PbxSimServer::request_route(const sdk::CallEvent& delivered, std::int64_t load_call) {
  auto registered = registration_by_device_.find(delivered.connection.device);
  if (registered == registration_by_device_.end()) return;
  auto& registration = registrations_.at(registered->second);
  Route route{registration.client, registered->second, fmt::format("X{}", next_route_++), delivered.connection};
  Message request;
  request.kind = MessageKind::route_request;
  request.route_register_req_id = route.register_id;
  request.routing_cross_ref_id = route.cross_ref;
  request.called_device = delivered.connection.device;  // currentRoute
  request.calling_device = delivered.calling;
  request.connection = delivered.connection;  // routedCall
  route_by_call_[route.call.call_id] = route.cross_ref;
  routes_.emplace(route.cross_ref, route);
  registration.client->send(registration.client->next_invoke_id(), request, load_call);
}

std::optional<PbxSimServer::Route> PbxSimServer::take_route(const sdk::CallRef& call) {
  auto by_call = route_by_call_.find(call.call_id);
  if (by_call == route_by_call_.end()) return std::nullopt;
  auto it = routes_.find(by_call->second);
  if (it == routes_.end() || it->second.call.device != call.device) return std::nullopt;
  Route route = std::move(it->second);
  routes_.erase(it);
  route_by_call_.erase(by_call);
  return route;
}

void PbxSimServer::put_back_route(Route route) {
  route_by_call_.emplace(route.call.call_id, route.cross_ref);
  routes_.emplace(route.cross_ref, std::move(route));
}

void PbxSimServer::end_route(const Route& route, std::string_view error_value) {
  Message end;
  end.kind = MessageKind::route_end;
  end.route_register_req_id = route.register_id;
  end.routing_cross_ref_id = route.cross_ref;
  if (!error_value.empty()) {
    end.error_category = std::string(kOperation);
    end.error_value = std::string(error_value);
  }
  route.client->send(route.client->next_invoke_id(), end);
}

// ----- control --------------------------------------------------------------------------------------------

ControlReply PbxSimServer::control(std::string_view line) {
  auto words = words_of(line);
  log_->info("control command=\"{}\"", line);
  if (words.empty()) return {"error empty command"};
  const auto command = words[0];
  if (command == "drop" && words.size() == 1) {
    auto clients = clients_;
    for (auto& client : clients) client->close("dropped by the control port");
    return {fmt::format("ok dropped {}", clients.size())};
  }
  if (command == "silent" && words.size() == 2 && (words[1] == "on" || words[1] == "off")) {
    set_silent(words[1] == "on");
    return {fmt::format("ok silent {}", words[1])};
  }
  if (command == "garbage" && words.size() == 1) {
    for (auto& client : clients_) client->send_raw(kGarbageFrame);
    return {fmt::format("ok garbage sent to {}", clients_.size())};
  }
  if (command == "call" && (words.size() == 2 || words.size() == 3)) {
    std::string caller = words.size() == 3 && words[2] != "-" ? std::string(words[2]) : std::string();
    auto id = model_.offer_call(std::string(words[1]), caller);
    if (!id) return {fmt::format("error {} is not a project", words[1])};
    return {"ok call " + *id};
  }
  if (command == "dial" && words.size() == 3) {
    auto id = model_.dial(std::string(words[1]), std::string(words[2]));
    if (!id) return {fmt::format("error {} is not an idle, logged-in extension", words[1])};
    return {"ok dial " + *id};
  }
  if (command == "status" && words.size() == 1) return {"ok " + status_line()};
  if (command == "quit" && words.size() == 1) return {"ok bye", true};
  if (command == "help" && words.size() == 1)
    return {"ok commands: drop | silent on|off | garbage | call PROJECT [CALLER|-] | dial FROM NUMBER | status | quit"};
  return {fmt::format("error unknown command '{}' (try help)", line)};
}

void PbxSimServer::set_silent(bool silent) {
  if (silent == silent_) return;
  silent_ = silent;
  log_->warn("silent {}", silent ? "on: nothing is sent, requests are discarded" : "off");
  if (!silent)
    for (auto& client : clients_) client->resume_supervision();
}

std::string PbxSimServer::status_line() const {
  auto set_up = std::count_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->set_up; });
  const char* traffic = model_.running() ? "running" : load_started_ && !load_finishing_ ? "load" : "stopped";
  return fmt::format("clients={} set_up={} monitors={} routes={} calls={} offered={} routed={} silent={} traffic={}",
                     clients_.size(), set_up, monitors_.size(), routes_.size(), model_.active_calls(), calls_offered_,
                     calls_routed_, silent_ ? "yes" : "no", traffic);
}

bool PbxSimServer::is_device(const std::string& number) const {
  return is_project(number) || extensions_.count(number) != 0 || model_.is_hunt_group(number);
}

bool PbxSimServer::is_project(const std::string& number) const { return projects_.count(number) != 0; }

// ----- load mode ------------------------------------------------------------------------------------------

void PbxSimServer::start_load() {
  if (load_started_) return;
  load_started_ = true;
  setup_timer_.cancel();
  load_start_ = LoadRecorder::Clock::now();
  log_->info("load starts calls={} rate={}/s", options_.load->calls, options_.load->rate);
  pace_load();
  expire_load_calls();
}

LoadRecorder::Clock::time_point PbxSimServer::load_call_scheduled_at(std::uint64_t sequence) const {
  return load_start_ + std::chrono::duration_cast<LoadRecorder::Clock::duration>(std::chrono::duration<double>(
                           static_cast<double>(sequence) / options_.load->rate));
}

void PbxSimServer::pace_load() {
  if (stopped_) return;
  // Call i is scheduled for start + i / rate. A late wake-up offers every call due by then in one batch
  // (catching up instead of lowering the rate), and its lateness counts in the latency, which runs from the
  // scheduled time.
  auto now = LoadRecorder::Clock::now();
  while (load_->offered() < options_.load->calls && load_call_scheduled_at(load_->offered()) <= now)
    offer_load_call(load_->offered());
  if (load_->offered() >= options_.load->calls) return;
  auto next = load_call_scheduled_at(load_->offered());
  if (next - now <= kPacingSpin) {
    asio::post(io_, [this] { pace_load(); });  // due soon: check again on the next turn of the loop
    return;
  }
  pacing_timer_.expires_at(next - kPacingSpin);
  pacing_timer_.async_wait([this](const error_code& error) {
    if (!error) pace_load();
  });
}

void PbxSimServer::offer_load_call(std::uint64_t sequence) {
  std::string caller;
  std::string project;
  if (!scenario_.callers.empty()) {
    const auto& known = scenario_.callers[sequence % scenario_.callers.size()];
    caller = known.number;
    project = known.project;
  }
  if (project.empty()) project = scenario_.projects[sequence % scenario_.projects.size()];
  offering_load_call_ = load_->add(project, load_call_scheduled_at(sequence), LoadRecorder::Clock::now());
  model_.offer_call(project, caller);
  offering_load_call_ = -1;
}

void PbxSimServer::on_load_frames_written(const std::vector<std::uint32_t>& load_calls) {
  if (!load_) return;
  auto now = LoadRecorder::Clock::now();
  for (auto index : load_calls) load_->written(index, now);
}

void PbxSimServer::load_call_routed(const std::string& call_id, const std::string& destination,
                                    LoadRecorder::Clock::time_point received_at) {
  if (!load_) return;
  auto index = load_->find(call_id);
  if (!index || !load_->pending(*index)) return;
  load_->routed(*index, received_at);
  // The operator is free again at once, so the next decision meets an idle extension.
  model_.clear({call_id, destination}, [](const sdk::Status&) {});
  if (load_->all_decided() && load_->offered() == options_.load->calls) finish_load_soon();
}

void PbxSimServer::expire_load_calls() {
  if (stopped_) return;
  load_->expire(LoadRecorder::Clock::now() - options_.load->decision_timeout, [this](std::uint32_t index) {
    log_->debug("load call not routed in time call={}", load_->call_id_of(index));
    model_.clear({load_->call_id_of(index), load_->project_of(index)}, [](const sdk::Status&) {});
  });
  if (load_->all_decided() && load_->offered() == options_.load->calls) {
    finish_load_soon();
    return;
  }
  expiry_timer_.expires_after(kExpiryTick);
  expiry_timer_.async_wait([this](const error_code& error) {
    if (!error) expire_load_calls();
  });
}

void PbxSimServer::finish_load_soon() {
  if (load_finishing_) return;
  load_finishing_ = true;
  // Not from inside a request or a model callback: stop() closes the clients and stops the model.
  asio::post(io_, [this] {
    load_report_ = load_->report(LoadRecorder::Clock::now(), options_.load->rate);
    log_->info("load done offered={} routed={} errors={} seconds={:.3f}", load_report_->offered,
               load_report_->routed, load_report_->errors, load_report_->seconds);
    stop();
  });
}

}  // namespace switchboard::pbxsim
