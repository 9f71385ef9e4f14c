#include "csta_driver.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <variant>

#include "switchboard/sdk/routing.hpp"

namespace switchboard::drivers::csta_driver {

namespace {

using csta::Message;
using csta::MessageKind;
using std::chrono::milliseconds;


std::string seconds_text(milliseconds d) {
  return std::to_string(std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

// How often the supervision timer looks at the link: a tenth of the keep-alive interval, so a silent
// switch is noticed at most a tenth of an interval after `heartbeat_misses` intervals without an answer.
milliseconds supervision_period(milliseconds heartbeat_interval) {
  return std::max(milliseconds(10), heartbeat_interval / 10);
}

// Answers to requests; everything else with a request invokeID is the switch asking something.
bool is_answer(MessageKind kind) {
  switch (kind) {
    case MessageKind::system_status_response:
    case MessageKind::start_application_session_pos_response:
    case MessageKind::start_application_session_neg_response:
    case MessageKind::reset_application_session_timer_response:
    case MessageKind::monitor_start_response:
    case MessageKind::monitor_stop_response:
    case MessageKind::snapshot_device_response:
    case MessageKind::deflect_call_response:
    case MessageKind::single_step_transfer_call_response:
    case MessageKind::clear_connection_response:
    case MessageKind::route_register_response:
    case MessageKind::set_agent_state_response:
    case MessageKind::csta_error_code:
      return true;
    default:
      return false;
  }
}

bool is_call_event(MessageKind kind) {
  switch (kind) {
    case MessageKind::delivered:
    case MessageKind::established:
    case MessageKind::connection_cleared:
    case MessageKind::diverted:
    case MessageKind::failed:
    case MessageKind::transferred:
    case MessageKind::originated:
      return true;
    default:
      return false;
  }
}

// A negative answer as the SDK's error: what the call engine needs is busy (try the next), unavailable
// (the destination is not there) or refused (the call is not in a state for it).
sdk::ErrorCode error_code_of(const std::string& value) {
  static const std::set<std::string, std::less<>> busy{"resourceBusy", "deviceBusy", "callBusy"};
  static const std::set<std::string, std::less<>> unavailable{
      "invalidDestination",   "invalidDeviceID",       "invalidCalledDevice",     "resourceOutOfService",
      "deviceOutOfService",   "invalidDestinationDevice", "serviceNotAvailable", "noActiveCall"};
  if (busy.count(value)) return sdk::ErrorCode::busy;
  if (unavailable.count(value)) return sdk::ErrorCode::unavailable;
  return sdk::ErrorCode::refused;
}

sdk::DeviceState state_of(const std::map<std::string, sdk::ConnectionState>& calls) {
  bool ringing = false;
  for (const auto& [id, state] : calls) {
    if (state == sdk::ConnectionState::connected || state == sdk::ConnectionState::hold) return sdk::DeviceState::busy;
    if (state == sdk::ConnectionState::alerting || state == sdk::ConnectionState::queued ||
        state == sdk::ConnectionState::initiated)
      ringing = true;
  }
  return ringing ? sdk::DeviceState::ringing : sdk::DeviceState::idle;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "none" : out;
}

}  // namespace

sdk::ConfigSchema CstaDriver::schema() {
  using sdk::ValueType;
  sdk::ConfigSchema session;
  session.add("application_id", ValueType::string)
      .doc("applicationID sent in StartApplicationSession; the switch's application or CSTA link name. Setting "
           "it turns the session on.");
  session.add("user", ValueType::string)
      .doc("User name, sent in applicationSpecificInfo when set.");
  session.add("password", ValueType::string).secret()
      .doc("Password, sent in applicationSpecificInfo when set. Use ${ENV}.");
  session.add("duration", ValueType::duration).min(1000).default_value("300s")
      .doc("Requested session duration; the driver renews the session at half the duration the switch grants.");

  sdk::ConfigSchema s;
  s.add("host", ValueType::string).required().doc("Host name or address of the switch's CSTA interface.");
  s.add("port", ValueType::integer).range(1, 65535).required()
      .doc("TCP port of the CSTA interface (OpenScape 4000 CSTA: usually 2205 or one per application; "
           "OpenScape Voice: 1040).");
  s.add("mode", sdk::TypeSpec::enum_of({"deflect", "routeing"})).default_value("deflect")
      .doc("How calls are routed. deflect: DeflectCall of the call alerting at the monitored project number "
           "(SingleStepTransferCall when already answered) — works on every switch with monitoring, including "
           "OpenScape Voice. routeing: the driver registers as routing server for the project numbers "
           "(RouteRegister) and answers the switch's RouteRequest with RouteSelect; a failed route comes back as "
           "ReRoute and the next target is selected.");
  s.add("session", sdk::TypeSpec::object_of(std::move(session)))
      .doc("ECMA-354 application session, started after every connect when session.application_id is set. "
           "Without it: no session (switches that provision the application by address, e.g. OpenScape Voice).");
  s.add("heartbeat_interval", ValueType::duration).min(10).default_value("10s")
      .doc("How often the driver sends SystemStatus as a keep-alive.");
  s.add("heartbeat_misses", ValueType::integer).range(1, 100).default_value(3)
      .doc("The link is dead when the switch has answered nothing for this many keep-alive intervals; it is "
           "then reported down at once and reconnected.");
  s.add("request_timeout", ValueType::duration).min(10).default_value("5s")
      .doc("How long a request (MonitorStart, DeflectCall, …) waits for its answer before it fails as timed out.");
  s.add("connect_timeout", ValueType::duration).min(10).default_value("5s")
      .doc("How long a TCP connect may take before the attempt counts as failed.");
  s.add("reconnect_initial", ValueType::duration).min(0).default_value("500ms")
      .doc("Wait before the first reconnect after the link was lost; doubled after every failed attempt.");
  s.add("reconnect_max", ValueType::duration).min(0).default_value("30s")
      .doc("Cap of the reconnect wait.");
  s.add("reconnect_jitter", ValueType::number).range(0, 1).default_value("0.2")
      .doc("Random spread of every reconnect wait (0.2: ±20%), so several hosts do not reconnect in step.");
  s.add("monitor", sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string))).semicolon_string()
      .doc("Devices monitored in addition to the project numbers and operator extensions the routing "
           "configuration names (those are always monitored); duplicates are monitored once.");
  s.add("routeing_devices", sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string))).semicolon_string()
      .doc("mode routeing: the devices registered with RouteRegister. Default: every project number of the "
           "configured routing strategies.");
  s.add("max_frame_bytes", ValueType::integer).range(64, 65535).default_value(65535)
      .doc("Largest frame accepted from the switch, header included; a larger one resets the connection.");
  return s;
}

void CstaDriver::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  if (settings.duration("reconnect_initial") > settings.duration("reconnect_max"))
    diag.error(settings, "reconnect_initial", "must not exceed reconnect_max");
  if (settings.has("session")) {
    const auto& session = settings.object("session");
    if (!session.has("application_id") && (session.has("user") || session.has("password")))
      diag.error(session, "application_id", "is required when the session has credentials");
  }
  if (settings.has("routeing_devices") && settings.string("mode") != "routeing")
    diag.error(settings, "routeing_devices", "only used with mode: routeing");
}

CstaDriver::Options CstaDriver::read_options(const sdk::Settings& s) {
  Options o;
  o.host = s.string("host");
  o.port = static_cast<std::uint16_t>(s.integer("port"));
  o.mode = s.string("mode") == "routeing" ? Mode::routeing : Mode::deflect;
  if (s.has("session") && s.object("session").has("application_id")) {
    const auto& session = s.object("session");
    o.session = true;
    o.application_id = session.string("application_id");
    o.user = session.string_or("user", "");
    o.password = session.string_or("password", "");
    o.session_duration = session.duration("duration");
  }
  o.heartbeat_interval = s.duration("heartbeat_interval");
  o.heartbeat_misses = s.integer("heartbeat_misses");
  o.request_timeout = s.duration("request_timeout");
  o.connect_timeout = s.duration("connect_timeout");
  o.reconnect_initial = s.duration("reconnect_initial");
  o.reconnect_max = s.duration("reconnect_max");
  o.reconnect_jitter = s.number("reconnect_jitter");
  o.extra_devices = s.strings("monitor");
  if (s.has("routeing_devices")) o.routeing_devices = s.strings("routeing_devices");
  o.max_frame_bytes = static_cast<std::size_t>(s.integer("max_frame_bytes"));
  return o;
}

CstaDriver::CstaDriver(sdk::Context& context, const sdk::Settings& settings)
    : context_(context), options_(read_options(settings)), jitter_random_(std::random_device{}()) {
  for (const auto& device : options_.extra_devices) monitor({device}, [](sdk::Status) {});
}

CstaDriver::~CstaDriver() {
  if (link_) link_->close();
}

sdk::DriverCapabilities CstaDriver::capabilities() const {
  sdk::DriverCapabilities c;
  c.deflect = true;
  c.single_step_transfer = true;
  c.clear_connection = true;
  c.snapshot = true;
  c.agent_state = true;
  return c;
}

// ----- link life cycle ------------------------------------------------------------------------------------

void CstaDriver::start(sdk::Completion done) {
  if (state_ != LinkState::stopped) {
    done(sdk::Status::success());
    return;
  }
  const std::vector<std::string> projects = sdk::routed_numbers(context_);
  for (const auto& number : projects) project_devices_.emplace(csta::normalise_device_id(number));
  if (options_.mode == Mode::routeing) {
    if (!options_.routeing_devices) options_.routeing_devices = projects;
    monitor(*options_.routeing_devices, [](sdk::Status) {});
  }
  context_.logger().info("connecting peer={}:{} mode={} session={}", options_.host, options_.port,
                         options_.mode == Mode::routeing ? "routeing" : "deflect",
                         options_.session ? "ecma-354" : "none");
  // The driver runs with the link up or down: start does not wait for the switch, and a switch that is
  // unreachable is reported (LinkDown, alert) and retried with backoff.
  connect();
  done(sdk::Status::success());
}

void CstaDriver::stop(sdk::Completion done) {
  if (state_ == LinkState::stopped) {
    done(sdk::Status::success());
    return;
  }
  bool was_up = state_ == LinkState::up;
  state_ = LinkState::stopped;
  ++generation_;
  connect_timer_.reset();
  reconnect_timer_.reset();
  supervision_timer_.reset();
  session_timer_.reset();
  if (link_) link_->close();
  link_.reset();
  fail_pending(sdk::make_error(sdk::ErrorCode::cancelled, "the driver is stopping"));
  if (was_up) {
    sdk::LinkEvent down;
    down.up = false;
    down.detail = "driver stopped";
    down.at = context_.clock().now();
    publish(std::move(down));
  }
  context_.logger().info("stopped");
  done(sdk::Status::success());
}

void CstaDriver::connect() {
  state_ = LinkState::connecting;
  const auto generation = ++generation_;
  CstaLink::Handlers handlers;
  handlers.connected = [this, generation] { on_connected(generation); };
  handlers.frame = [this](const csta::FrameView& frame) { on_frame(frame); };
  handlers.closed = [this, generation](std::string reason) {
    if (generation == generation_) link_lost(reason);
  };
  link_ = std::make_shared<CstaLink>(context_.strand(), context_.logger(), options_.max_frame_bytes, std::move(handlers));
  link_->connect(options_.host, options_.port);
  connect_timer_ = context_.call_after(options_.connect_timeout, [this, generation] {
    if (generation == generation_ && state_ == LinkState::connecting)
      link_lost("connect timed out after " + std::to_string(options_.connect_timeout.count()) + "ms");
  });
}

void CstaDriver::on_connected(std::uint64_t generation) {
  if (generation != generation_) return;
  connect_timer_.reset();
  state_ = LinkState::opening;
  last_answer_ = context_.clock().steady_now();
  last_heartbeat_ = last_answer_;
  context_.logger().info("connected peer={}", link_->peer());
  supervise();
  if (options_.session)
    open_session();
  else
    register_routes();
}

void CstaDriver::open_session() {
  Message m;
  m.kind = MessageKind::start_application_session;
  m.application_id = options_.application_id;
  m.user = options_.user;
  m.password = options_.password;
  m.protocol_version = std::string(csta::kCstaNamespace);
  m.session_duration = seconds_text(options_.session_duration);
  request(std::move(m), [this, generation = generation_](sdk::Result<const Message*> answer) {
    if (generation != generation_) return;
    if (!answer) {
      context_.logger().error("session refused error=\"{}\" fix=\"check session.application_id, user and password\"",
                              answer.error().message);
      link_lost("application session refused: " + answer.error().message);
      return;
    }
    session_id_ = (*answer)->session_id;
    milliseconds granted = options_.session_duration;
    const auto& actual = (*answer)->session_duration;
    if (!actual.empty() && std::all_of(actual.begin(), actual.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        actual.size() < 9 && std::stol(actual) > 0)
      granted = std::chrono::seconds(std::stol(actual));
    context_.logger().info("session started session_id={} duration_s={}", session_id_, granted.count() / 1000);
    session_timer_ = context_.call_after(granted / 2, [this] { renew_session(); });
    register_routes();
  });
}

void CstaDriver::renew_session() {
  Message m;
  m.kind = MessageKind::reset_application_session_timer;
  m.session_id = session_id_;
  m.session_duration = seconds_text(options_.session_duration);
  request(std::move(m), [this, generation = generation_](sdk::Result<const Message*> answer) {
    if (generation != generation_) return;
    if (!answer) {
      link_lost("session renewal failed: " + answer.error().message);
      return;
    }
    session_timer_ = context_.call_after(options_.session_duration / 2, [this] { renew_session(); });
  });
}

void CstaDriver::register_routes() {
  std::vector<std::string> routeing;
  if (options_.mode == Mode::routeing && options_.routeing_devices) routeing = *options_.routeing_devices;
  if (routeing.empty()) {
    start_monitors();
    return;
  }
  opening_outstanding_ = routeing.size();
  for (const auto& device : routeing) {
    Message m;
    m.kind = MessageKind::route_register;
    m.device_id = raw_form(device);
    request(std::move(m), [this, device, generation = generation_](sdk::Result<const Message*> answer) {
      if (generation != generation_) return;
      if (answer)
        registered_routeing_devices_.emplace(csta::normalise_device_id(device));
      else
        context_.logger().error("route registration refused device={} error=\"{}\" effect=\"calls to it are not routed\"",
                                device, answer.error().message);
      if (--opening_outstanding_ == 0) start_monitors();
    });
  }
}

void CstaDriver::start_monitors() {
  // Every monitor is gone with the old connection: ask again for each, then read each state afresh.
  opening_outstanding_ = devices_.size();
  if (devices_.empty()) {
    link_ready();
    return;
  }
  std::vector<std::string> names;
  for (auto& [device, watched] : devices_) names.push_back(device);
  for (const auto& device : names) monitor_device(device);
}

void CstaDriver::monitor_device(const std::string& device) {
  auto& watched = devices_[device];
  watched.requested = true;
  const bool opening = state_ == LinkState::opening;
  const auto generation = generation_;
  auto step_done = [this, opening, generation] {
    if (generation == generation_ && opening && state_ == LinkState::opening && --opening_outstanding_ == 0)
      link_ready();
  };
  Message m;
  m.kind = MessageKind::monitor_start;
  m.device_id = watched.raw;
  request(std::move(m), [this, device, generation, step_done](sdk::Result<const Message*> answer) {
    if (generation != generation_) return;
    if (!answer) {
      context_.logger().warn("monitor refused device={} error=\"{}\" effect=\"its state is unknown to routing\"",
                             device, answer.error().message);
      step_done();
      return;
    }
    monitors_[(*answer)->monitor_cross_ref_id] = device;
    devices_[device].cross_ref = (*answer)->monitor_cross_ref_id;
    Message snapshot;
    snapshot.kind = MessageKind::snapshot_device;
    snapshot.device_id = raw_form(device);
    request(std::move(snapshot), [this, device, generation, step_done](sdk::Result<const Message*> answer) {
      if (generation != generation_) return;
      if (answer)
        apply_snapshot(device, (*answer)->snapshot);
      else
        context_.logger().warn("snapshot failed device={} error=\"{}\"", device, answer.error().message);
      step_done();
    });
  });
}

void CstaDriver::link_ready() {
  state_ = LinkState::up;
  reconnect_attempt_ = 0;
  was_up_ = true;
  reported_unreachable_ = false;
  std::size_t monitored = monitors_.size();
  context_.logger().info("link up peer={} monitors={}/{} routeing_devices={}", link_->peer(), monitored,
                         devices_.size(), registered_routeing_devices_.size());
  sdk::LinkEvent up;
  up.up = true;
  up.detail = "csta peer=" + link_->peer() + " monitors=" + std::to_string(monitored);
  up.at = context_.clock().now();
  publish(std::move(up));
  // Calls the switch offered while the monitors were being set up: the engine routes nothing on a link it
  // has not seen come up, so they follow the LinkUp instead of being written off.
  for (auto& event : std::exchange(held_, {})) publish(std::move(event));
  // Devices asked for while the link was opening.
  for (auto& [device, watched] : devices_)
    if (!watched.requested) monitor_device(device);
}

void CstaDriver::link_lost(const std::string& reason) {
  if (state_ == LinkState::stopped || state_ == LinkState::waiting) return;
  const bool was_up = state_ == LinkState::up;
  ++generation_;
  if (link_) link_->close();
  link_.reset();
  connect_timer_.reset();
  supervision_timer_.reset();
  session_timer_.reset();
  fail_pending(sdk::make_error(sdk::ErrorCode::unavailable, "pbx link lost: " + reason));
  held_.clear();
  monitors_.clear();
  registered_routeing_devices_.clear();
  routes_.clear();
  calls_by_route_.clear();
  for (auto& [device, watched] : devices_) {
    watched.cross_ref.clear();
    watched.requested = false;
    watched.calls.clear();
    watched.published = sdk::DeviceState::unknown;
  }
  // Reported at once when a working link dies, and once when the switch cannot be reached from the start,
  // so an operator hears of a PBX that was never there as well as of one that went away.
  if (was_up || (!was_up_ && !reported_unreachable_)) {
    reported_unreachable_ = !was_up;
    context_.logger().warn("link down reason=\"{}\" effect=\"calls are not routed until the link is back\"", reason);
    sdk::LinkEvent down;
    down.up = false;
    down.detail = reason;
    down.at = context_.clock().now();
    publish(std::move(down));
  } else {
    context_.logger().info("link attempt failed reason=\"{}\"", reason);
  }
  state_ = LinkState::waiting;
  schedule_reconnect();
}

void CstaDriver::schedule_reconnect() {
  double base = static_cast<double>(options_.reconnect_initial.count()) *
                std::pow(2.0, static_cast<double>(std::min<std::uint64_t>(reconnect_attempt_, 30)));
  base = std::min(base, static_cast<double>(options_.reconnect_max.count()));
  std::uniform_real_distribution<double> spread(1.0 - options_.reconnect_jitter, 1.0 + options_.reconnect_jitter);
  auto delay = milliseconds(static_cast<std::int64_t>(std::llround(base * spread(jitter_random_))));
  ++reconnect_attempt_;
  context_.logger().info("reconnecting in_ms={} attempt={}", delay.count(), reconnect_attempt_);
  reconnect_timer_ = context_.call_after(delay, [this] {
    if (state_ == LinkState::waiting) connect();
  });
}

void CstaDriver::supervise() {
  auto period = supervision_period(options_.heartbeat_interval);
  supervision_timer_ = context_.call_after(period, [this] {
    auto now = context_.clock().steady_now();
    auto silent_for = now - last_answer_;
    if (silent_for >= options_.heartbeat_interval * options_.heartbeat_misses) {
      link_lost("no answer from the switch for " +
                std::to_string(std::chrono::duration_cast<milliseconds>(silent_for).count()) + "ms (" +
                std::to_string(options_.heartbeat_misses) + " keep-alive intervals)");
      return;
    }
    if (now - last_heartbeat_ >= options_.heartbeat_interval) {
      last_heartbeat_ = now;
      Message keep_alive;
      keep_alive.kind = MessageKind::system_status;
      keep_alive.system_status = "normal";
      // Its answer moves last_answer_; a lost one is what the check above counts.
      request(std::move(keep_alive), [](sdk::Result<const Message*>) {},
              options_.heartbeat_interval * options_.heartbeat_misses);
    }
    supervise();
  });
}

// ----- requests and answers -------------------------------------------------------------------------------

void CstaDriver::request(Message message, Answer answer, std::optional<milliseconds> timeout) {
  if (!link_ || !link_->open()) {
    answer(sdk::make_error(sdk::ErrorCode::unavailable, std::string(csta::to_string(message.kind)) +
                                                            ": the pbx link is down"));
    return;
  }
  auto body = csta::encode_message(message);
  if (!body) {
    answer(body.error());
    return;
  }
  auto timeout_after = timeout.value_or(options_.request_timeout);
  // Every invokeID of 0000-9998 waiting for an answer (a switch that lags): the request waits for an id, in
  // order, rather than failing a call the switch would route a moment later. Beyond that queue, or past its
  // timeout while waiting, it is refused (an overloaded or silent switch).
  if (pending_.size() > csta::kMaxRequestInvokeId || !waiting_for_id_.empty()) {
    if (waiting_for_id_.size() >= max_waiting_for_id) {
      answer(sdk::make_error(sdk::ErrorCode::busy,
                             std::string(csta::to_string(message.kind)) + ": 9999 requests are waiting for the " +
                                 "switch's answer and " + std::to_string(max_waiting_for_id) + " more for an invokeID"));
      return;
    }
    waiting_for_id_.push_back(
        {message.kind, std::move(*body), std::move(answer), timeout_after, context_.clock().steady_now()});
    return;
  }
  send_request(message.kind, *body, std::move(answer), timeout_after);
}

void CstaDriver::send_request(MessageKind kind, const std::string& body, Answer answer, milliseconds timeout) {
  std::uint16_t id = invoke_ids_.next();
  while (pending_.count(id)) id = invoke_ids_.next();
  if (!link_->send(id, body)) {
    answer(sdk::make_error(sdk::ErrorCode::failed, std::string(csta::to_string(kind)) + ": not sent"));
    return;
  }
  auto timer = context_.call_after(timeout, [this, id, kind] {
    auto node = pending_.extract(id);
    if (node.empty()) return;
    context_.logger().warn("request timed out request={} invoke_id={:04}", csta::to_string(kind), id);
    node.mapped().answer(sdk::make_error(sdk::ErrorCode::timeout,
                                         std::string(csta::to_string(kind)) + ": no answer from the switch"));
    send_waiting();
  });
  pending_[id] = PendingRequest{kind, std::move(answer), std::move(timer)};
}

// Sends what waited for an invokeID while ids are free; what waited longer than its timeout is answered
// with the timeout it would have had.
void CstaDriver::send_waiting() {
  const auto now = context_.clock().steady_now();
  while (!waiting_for_id_.empty() && pending_.size() <= csta::kMaxRequestInvokeId && link_ && link_->open()) {
    auto next = std::move(waiting_for_id_.front());
    waiting_for_id_.pop_front();
    if (now - next.since >= next.timeout) {
      next.answer(sdk::make_error(sdk::ErrorCode::timeout, std::string(csta::to_string(next.kind)) +
                                                               ": no invokeID came free within the request timeout"));
      continue;
    }
    auto left = next.timeout - std::chrono::duration_cast<milliseconds>(now - next.since);
    send_request(next.kind, next.body, std::move(next.answer), left);
  }
}

void CstaDriver::send_unsolicited(std::uint16_t invoke_id, const Message& message) {
  auto body = csta::encode_message(message);
  if (!body) {
    context_.logger().error("not sent message={} error=\"{}\"", csta::to_string(message.kind), body.error().message);
    return;
  }
  if (link_) link_->send(invoke_id, *body);
}

void CstaDriver::fail_pending(const sdk::Error& error) {
  auto pending = std::move(pending_);
  pending_.clear();
  auto waiting = std::move(waiting_for_id_);
  waiting_for_id_.clear();
  for (auto& [id, request] : pending) request.answer(error);
  for (auto& request : waiting) request.answer(error);
}

void CstaDriver::on_frame(const csta::FrameView& frame) {
  Message& message = incoming_;
  auto decoded = csta::decode_message(frame.body, message);
  if (!decoded) {
    context_.logger().warn("undecodable message invoke_id={:04} error=\"{}\" effect=\"connection reset\"",
                           frame.invoke_id, decoded.error().message);
    context_.logger().debug("undecodable message bytes=\"{}\"", csta::hex_dump(frame.body, 256));
    link_lost("undecodable message: " + decoded.error().message);
    return;
  }
  if (frame.is_event()) {
    on_event(message);
  } else if (!is_answer(message.kind)) {
    on_switch_request(frame.invoke_id, message);
  } else if (pending_.count(frame.invoke_id)) {
    on_response(frame.invoke_id, message);
  } else {
    context_.logger().debug("answer to no outstanding request message={} invoke_id={:04}",
                            csta::to_string(message.kind), frame.invoke_id);
  }
}

void CstaDriver::on_response(std::uint16_t invoke_id, const Message& message) {
  last_answer_ = context_.clock().steady_now();
  auto node = pending_.extract(invoke_id);
  auto& request = node.mapped();
  if (message.kind == MessageKind::csta_error_code ||
      message.kind == MessageKind::start_application_session_neg_response) {
    request.answer(error_of(message, csta::to_string(request.kind)));
  } else {
    request.answer(&message);
  }
  if (!waiting_for_id_.empty()) send_waiting();
}

sdk::Error CstaDriver::error_of(const Message& answer, const char* request) {
  std::string what = answer.error_category.empty() ? answer.error_value
                                                   : answer.error_category + "/" + answer.error_value;
  return sdk::make_error(error_code_of(answer.error_value),
                         std::string(request) + ": the switch answered " + (what.empty() ? "an error" : what));
}

void CstaDriver::on_switch_request(std::uint16_t invoke_id, const Message& message) {
  switch (message.kind) {
    case MessageKind::system_status: {
      Message answer;
      answer.kind = MessageKind::system_status_response;
      send_unsolicited(invoke_id, answer);  // the switch drops links that leave its polls unanswered
      return;
    }
    case MessageKind::route_request:
      on_route_request(invoke_id, message);
      return;
    case MessageKind::re_route: {
      auto call = calls_by_route_.find(message.routing_cross_ref_id);
      if (call == calls_by_route_.end()) return;
      auto route = routes_.find(call->second);
      if (route == routes_.end() || route->second.selected.empty()) return;
      // The route we selected did not work: to the call engine this is the target failing.
      sdk::CallEvent failed;
      failed.type = sdk::CallEventType::failed;
      failed.connection = {call->second, route->second.selected};
      failed.called = route->second.device;
      failed.cause = "reroute";
      failed.at = context_.clock().now();
      route->second.selected.clear();
      publish(std::move(failed));
      return;
    }
    case MessageKind::route_end: {
      auto call = calls_by_route_.find(message.routing_cross_ref_id);
      if (call == calls_by_route_.end()) return;
      routes_.erase(call->second);
      calls_by_route_.erase(call);
      return;
    }
    default: {
      context_.logger().debug("request not supported message={} root={} invoke_id={:04}",
                              csta::to_string(message.kind), message.root_name, invoke_id);
      Message error;
      error.kind = MessageKind::csta_error_code;
      error.error_category = "operation";
      error.error_value = "requestIncompatibleWithObject";
      send_unsolicited(invoke_id, error);
      return;
    }
  }
}

void CstaDriver::on_route_request(std::uint16_t invoke_id, const Message& message) {
  std::string call_id = message.connection.call_id.empty() ? message.routing_cross_ref_id : message.connection.call_id;
  std::string device(csta::normalise_device_id(message.called_device));
  routes_[call_id] = OpenRoute{message.route_register_req_id, message.routing_cross_ref_id, device, {}};
  calls_by_route_[message.routing_cross_ref_id] = call_id;
  // To the call engine a route request is a call arriving at the project number.
  sdk::CallEvent delivered;
  delivered.type = sdk::CallEventType::delivered;
  delivered.connection = {call_id, device};
  delivered.calling = csta::normalise_device_id(message.calling_device);
  delivered.called = device;
  delivered.other_device = device;
  delivered.cause = "new_call";
  delivered.local_state = sdk::ConnectionState::alerting;
  delivered.at = context_.clock().now();
  publish(std::move(delivered));
}

void CstaDriver::on_event(const Message& message) {
  if (!is_call_event(message.kind)) {
    context_.logger().trace("event ignored message={}", csta::to_string(message.kind));
    return;
  }
  const std::string_view device = device_of(message);
  auto watched = devices_.find(device);
  if (watched != devices_.end() && !message.connection.device.empty()) watched->second.raw = message.connection.device;

  const auto& call_id = message.connection.call_id;
  if (watched != devices_.end()) {
    auto& w = watched->second;
    switch (message.kind) {
      case MessageKind::delivered:
        track(w, call_id, message.local_connection_info.value_or(sdk::ConnectionState::alerting));
        break;
      case MessageKind::established:
        track(w, call_id, message.local_connection_info.value_or(sdk::ConnectionState::connected));
        break;
      case MessageKind::transferred:
        track(w, message.old_connection.call_id, std::nullopt);
        break;
      case MessageKind::originated:
        // The device went off-hook and dialled: busy, whatever stage the switch names (initiated would
        // read as ringing) until its ConnectionCleared.
        track(w, call_id, sdk::ConnectionState::connected);
        break;
      default:  // cleared, diverted, failed: the call has left this device
        track(w, call_id, std::nullopt);
        break;
    }
  }
  // A routeing device's calls reach the engine as RouteRequests; its Delivered would start them twice.
  const bool routed_arrival =
      message.kind == MessageKind::delivered && registered_routeing_devices_.count(device) != 0;
  if (message.kind == MessageKind::connection_cleared || message.kind == MessageKind::diverted) {
    auto route = routes_.find(call_id);
    if (route != routes_.end() && route->second.device == device) {
      calls_by_route_.erase(route->second.cross_ref);
      routes_.erase(route);
    }
  }

  if (!routed_arrival) {
    auto event = csta::to_sdk_event(message, context_.instance_name(), context_.clock().now());
    if (event) {
      std::get<sdk::CallEvent>(*event).connection.device = device;  // also when only the monitor names it
      publish(std::move(*event));
    }
  }
  if (watched != devices_.end()) publish_state(watched->first, watched->second);
}

// ----- monitors and device state ----------------------------------------------------------------------------

void CstaDriver::track(WatchedDevice& device, const std::string& call_id, std::optional<sdk::ConnectionState> state) {
  if (call_id.empty()) return;
  if (!state || *state == sdk::ConnectionState::null || *state == sdk::ConnectionState::fail)
    device.calls.erase(call_id);
  else
    device.calls[call_id] = *state;
}

void CstaDriver::apply_snapshot(const std::string& device, const std::vector<csta::SnapshotEntry>& entries) {
  auto& watched = devices_[device];
  watched.calls.clear();
  for (const auto& entry : entries)
    track(watched, entry.connection.call_id, entry.state.value_or(sdk::ConnectionState::alerting));
  publish_state(device, watched, true);
}

void CstaDriver::publish_state(const std::string& device, WatchedDevice& watched, bool always) {
  // A project number is a queue, not a telephone: it holds any number of waiting calls and reads idle (as in
  // the sim driver), so its calls coming and going are no device state changes.
  auto state = project_devices_.count(device) ? sdk::DeviceState::idle : state_of(watched.calls);
  if (state == watched.published && !always) return;
  watched.published = state;
  sdk::DeviceEvent event;
  event.device = device;
  event.state = state;
  event.at = context_.clock().now();
  publish(std::move(event));
}

std::string_view CstaDriver::device_of(const Message& message) const {
  if (!message.connection.device.empty()) return csta::normalise_device_id(message.connection.device);
  auto monitor = monitors_.find(message.monitor_cross_ref_id);
  return monitor == monitors_.end() ? std::string_view{} : std::string_view(monitor->second);
}

std::string CstaDriver::raw_form(const std::string& device) const {
  auto it = devices_.find(csta::normalise_device_id(device));
  return it == devices_.end() || it->second.raw.empty() ? device : it->second.raw;
}

void CstaDriver::monitor(std::vector<std::string> devices, sdk::Completion done) {
  std::vector<std::string> added;
  for (const auto& raw : devices) {
    std::string device(csta::normalise_device_id(raw));
    if (device.empty()) continue;
    auto [it, inserted] = devices_.try_emplace(device);
    if (!inserted) continue;
    it->second.raw = raw;
    added.push_back(device);
  }
  // While the link is down or opening the devices wait: link set-up monitors every known device.
  if (state_ == LinkState::up) {
    for (const auto& device : added) monitor_device(device);
  }
  if (!added.empty()) context_.logger().debug("devices to monitor added={}", joined(added));
  done(sdk::Status::success());
}

// ----- the call engine's requests ---------------------------------------------------------------------------

bool CstaDriver::refuse_unless_up(const sdk::Completion& done, const char* request) {
  if (state_ == LinkState::up) return false;
  done(sdk::make_error(sdk::ErrorCode::unavailable, std::string(request) + ": the pbx link is down"));
  return true;
}

void CstaDriver::deflect(sdk::CallRef call, std::string destination, sdk::Completion done) {
  if (refuse_unless_up(done, "deflect")) return;
  auto route = routes_.find(call.call_id);
  if (route != routes_.end() && route->second.device == call.device) {
    // Routeing services: the switch holds the call and waits for our choice. RouteSelect has no positive
    // answer; a route that fails comes back as ReRoute (reported as a failed target).
    route->second.selected = csta::normalise_device_id(destination);
    Message select;
    select.kind = MessageKind::route_select;
    select.route_register_req_id = route->second.register_id;
    select.routing_cross_ref_id = route->second.cross_ref;
    select.new_destination = raw_form(destination);
    send_unsolicited(invoke_ids_.next(), select);
    done(sdk::Status::success());
    return;
  }
  Message m;
  auto watched = devices_.find(call.device);
  bool answered = false;
  if (watched != devices_.end()) {
    auto state = watched->second.calls.find(call.call_id);
    answered = state != watched->second.calls.end() && state->second == sdk::ConnectionState::connected;
  }
  // DeflectCall is valid only while the call alerts; an answered call moves by single-step transfer.
  m.kind = answered ? MessageKind::single_step_transfer_call : MessageKind::deflect_call;
  m.connection = {call.call_id, raw_form(call.device)};
  m.new_destination = raw_form(destination);
  request(std::move(m), [done = std::move(done)](sdk::Result<const Message*> answer) {
    done(answer ? sdk::Status::success() : sdk::Status(answer.error()));
  });
}

void CstaDriver::transfer(sdk::CallRef call, std::string destination, sdk::Completion done) {
  if (refuse_unless_up(done, "transfer")) return;
  Message m;
  m.kind = MessageKind::single_step_transfer_call;
  m.connection = {call.call_id, raw_form(call.device)};
  m.new_destination = raw_form(destination);
  request(std::move(m), [done = std::move(done)](sdk::Result<const Message*> answer) {
    done(answer ? sdk::Status::success() : sdk::Status(answer.error()));
  });
}

void CstaDriver::clear(sdk::CallRef call, sdk::Completion done) {
  if (refuse_unless_up(done, "clear")) return;
  Message m;
  m.kind = MessageKind::clear_connection;
  m.connection = {call.call_id, raw_form(call.device)};
  request(std::move(m), [done = std::move(done)](sdk::Result<const Message*> answer) {
    done(answer ? sdk::Status::success() : sdk::Status(answer.error()));
  });
}

void CstaDriver::snapshot(std::string device, sdk::ResultCallback<sdk::DeviceSnapshot> done) {
  if (state_ != LinkState::up) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "snapshot: the pbx link is down"));
    return;
  }
  Message m;
  m.kind = MessageKind::snapshot_device;
  m.device_id = raw_form(device);
  request(std::move(m), [device = std::string(csta::normalise_device_id(device)), done = std::move(done)](sdk::Result<const Message*> answer) {
    if (!answer) {
      done(answer.error());
      return;
    }
    sdk::DeviceSnapshot snapshot;
    snapshot.device = device;
    std::map<std::string, sdk::ConnectionState> calls;
    for (const auto& entry : (*answer)->snapshot) {
      auto state = entry.state.value_or(sdk::ConnectionState::alerting);
      snapshot.calls.push_back({entry.connection.call_id, device});
      snapshot.states.push_back(state);
      calls[entry.connection.call_id] = state;
    }
    snapshot.state = state_of(calls);
    done(std::move(snapshot));
  });
}

void CstaDriver::set_agent_state(std::string device, std::string group, sdk::AgentState state, sdk::Completion done) {
  if (refuse_unless_up(done, "set agent state")) return;
  Message m;
  m.kind = MessageKind::set_agent_state;
  m.device_id = raw_form(device);
  switch (state) {
    case sdk::AgentState::logged_in: m.agent_state = "loggedOn"; break;
    case sdk::AgentState::logged_out: m.agent_state = "loggedOff"; break;
    case sdk::AgentState::ready: m.agent_state = "ready"; break;
    case sdk::AgentState::not_ready: m.agent_state = "notReady"; break;
  }
  m.agent_group = raw_form(group);
  request(std::move(m), [done = std::move(done)](sdk::Result<const Message*> answer) {
    done(answer ? sdk::Status::success() : sdk::Status(answer.error()));
  });
}

void CstaDriver::publish(sdk::Event event) {
  std::visit([this](auto& e) { e.driver = context_.instance_name(); }, event);
  if (state_ == LinkState::opening && std::holds_alternative<sdk::CallEvent>(event)) {
    held_.push_back(std::move(event));
    return;
  }
  context_.events().publish(std::move(event));
}

void register_csta_driver(sdk::Registrar& registrar) {
  registrar.add<CstaDriver>("csta", "CSTA XML (ECMA-323) over TCP: OpenScape 4000 / Voice, Avaya AES and other "
                                    "switches with a CSTA XML interface; routes by DeflectCall or RouteSelect.");
}

}  // namespace switchboard::drivers::csta_driver
