#include "sim_driver.hpp"

#include "model_settings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>
#include <utility>
#include <variant>

#include "switchboard/sdk/routing.hpp"

namespace switchboard::drivers {

namespace {

std::string shown_number(const std::string& number) { return number.empty() ? "withheld" : number; }

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "none" : out;
}

// A caller number as the PBX would present it: the digits as entered, without the spaces people type.
std::string without_spaces(std::string number) {
  number.erase(std::remove_if(number.begin(), number.end(), [](unsigned char c) { return std::isspace(c); }),
               number.end());
  return number;
}

std::vector<sim::KnownCaller> known_callers_of(const std::vector<sdk::Rule>& rules) {
  std::vector<sim::KnownCaller> known;
  for (const auto& rule : rules)
    for (const auto& entered : rule.callers)
      if (auto number = without_spaces(entered); !number.empty()) known.push_back({number, rule.project});
  return known;
}

}  // namespace

std::unique_ptr<sim::ScheduledTask> ContextScheduler::schedule(sim::Duration delay, std::function<void()> task) {
  return context_.call_after(delay, std::move(task));  // a Timer is a ScheduledTask
}

sdk::ConfigSchema SimDriver::schema() {
  using sdk::ValueType;
  sdk::ConfigSchema s;
  sim::add_model_keys(s);
  s.add("projects", sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string))).semicolon_string()
      .doc("The project numbers calls arrive on; also \"100;200;\". Default: every number the configured "
           "routing strategies serve.");
  s.add("storage", sdk::TypeSpec::reference_to(sdk::Category::storage))
      .doc("Storage whose customers' numbers are the known callers. Default: the only storage instance, when "
           "exactly one is configured; otherwise every caller is unknown or withheld.");
  s.add("hunt_groups", sim::hunt_groups_type())
      .doc("The PBX's hunt groups, {number, members} each, ringing all members at once: a call deflected to "
           "the number rings every joined, logged-in, free member, and the first to answer takes it; with "
           "none free the deflect fails as busy. Members start joined; set_agent_state (e.g. the engine "
           "acting on a join or leave code) changes that.");
  return s;
}

void SimDriver::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  sim::check_model_settings(settings, diag);
  sim::check_hunt_groups(settings, "hunt_groups", diag);
}

SimDriver::SimDriver(sdk::Context& context, const sdk::Settings& settings)
    : context_(context),
      storage_name_(settings.string_or("storage", "")),
      seed_(static_cast<std::uint64_t>(settings.integer("seed"))),
      speed_(settings.number("speed")),
      scheduler_(context),
      model_(sim::model_settings(settings), scheduler_,
             [this](const sim::PbxModel::EventMaker& make) { publish(make); }) {
  if (settings.has("projects")) configured_projects_ = settings.strings("projects");
  // Before any device is added, so a group number never becomes an operator.
  hunt_groups_ = sim::hunt_groups(settings, "hunt_groups");
  for (const auto& group : hunt_groups_) model_.set_hunt_group(group.number, group.members);
}

sdk::DriverCapabilities SimDriver::capabilities() const {
  sdk::DriverCapabilities c;
  c.deflect = true;
  c.clear_connection = true;
  c.snapshot = true;
  c.agent_state = true;
  return c;
}

void SimDriver::start(sdk::Completion done) {
  if (state_ == State::running) {
    done(sdk::Status::success());
    return;
  }
  waiting_starts_.push_back(std::move(done));
  if (state_ == State::starting) return;
  state_ = State::starting;
  auto attempt = ++start_attempt_;

  std::string storage_name = storage_name_;
  if (storage_name.empty()) {
    auto names = context_.instance_names(sdk::Category::storage);
    if (names.size() == 1) storage_name = names.front();
  }
  if (storage_name.empty()) {
    finish_start({});
    return;
  }
  auto storage = context_.instance(sdk::Category::storage, storage_name);
  if (!storage) {
    fail_start(sdk::make_error(sdk::ErrorCode::not_found, "no storage instance named '" + storage_name + "'"));
    return;
  }
  load_known_callers(storage, attempt);
}

void SimDriver::load_known_callers(sdk::InstanceRef storage, std::uint64_t attempt) {
  auto* rules_source = static_cast<sdk::Storage*>(storage.instance);
  sdk::asio::post(*storage.strand, [this, rules_source, attempt] {
    auto answer = [this, attempt](sdk::Result<std::vector<sdk::Rule>> rules) { on_rules(attempt, std::move(rules)); };
    rules_source->list_rules(std::nullopt, context_.on_strand(std::move(answer)));
  });
}

void SimDriver::on_rules(std::uint64_t attempt, sdk::Result<std::vector<sdk::Rule>> rules) {
  if (attempt != start_attempt_ || state_ != State::starting) return;  // stop() has answered that start
  if (!rules) {
    context_.logger().warn("known callers unavailable error=\"{}\" effect=\"every caller is unknown or withheld\"",
                           rules.error().message);
    finish_start({});
    return;
  }
  finish_start(known_callers_of(*rules));
}

std::vector<std::string> SimDriver::resolve_projects() const {
  if (configured_projects_) return *configured_projects_;
  return sdk::routed_numbers(context_);
}

void SimDriver::finish_start(std::vector<sim::KnownCaller> known_callers) {
  auto projects = resolve_projects();
  // A configured hunt group is the PBX's own number: calls to it ring its members, they do not wait there.
  auto group_numbers = std::remove_if(projects.begin(), projects.end(),
                                      [&](const std::string& number) { return model_.is_hunt_group(number); });
  if (group_numbers != projects.end()) {
    context_.logger().warn("project numbers that are hunt groups numbers={} effect=\"no calls arrive on them\"",
                           joined({group_numbers, projects.end()}));
    projects.erase(group_numbers, projects.end());
  }
  auto known_count = known_callers.size();
  model_.set_projects(projects);
  model_.set_known_callers(std::move(known_callers));
  model_.start();
  state_ = State::running;

  sdk::LinkEvent up;
  up.up = true;
  up.detail = "simulated pbx seed=" + std::to_string(seed_);
  up.at = context_.clock().now();
  publish([&] { return sdk::Event(std::move(up)); });
  // Monitors survive restarts: fresh states after every link up.
  if (!monitored_.empty()) model_.add_devices(monitored_);

  context_.logger().info("started seed={} speed={} projects={} known_callers={} operators={} offline={}", seed_,
                         speed_, joined(model_.projects()), known_count, model_.operators().size(),
                         joined(model_.offline_operators()));
  if (model_.projects().empty())
    context_.logger().warn(
        "no projects effect=\"no calls arrive\" fix=\"set projects or configure a routing strategy\"");
  auto waiting = std::move(waiting_starts_);
  waiting_starts_.clear();
  for (auto& done : waiting) done(sdk::Status::success());
}

void SimDriver::fail_start(sdk::Error error) {
  state_ = State::stopped;
  auto waiting = std::move(waiting_starts_);
  waiting_starts_.clear();
  for (auto& done : waiting) done(error);
}

void SimDriver::stop(sdk::Completion done) {
  if (state_ == State::starting) {
    ++start_attempt_;  // the storage's late answer finds nothing to finish
    fail_start(sdk::make_error(sdk::ErrorCode::cancelled, "the driver is stopping"));
    context_.logger().info("stopped before start completed");
  } else if (state_ == State::running) {
    auto offered = model_.generated_calls();
    auto dropped = model_.active_calls();
    model_.stop();
    state_ = State::stopped;
    sdk::LinkEvent down;
    down.up = false;
    down.detail = "simulation stopped";
    down.at = context_.clock().now();
    publish([&] { return sdk::Event(std::move(down)); });
    context_.logger().info("stopped calls_offered={} calls_dropped={}", offered, dropped);
  }
  done(sdk::Status::success());
}

bool SimDriver::refuse_unless_running(const sdk::Completion& done, const char* request) {
  if (state_ == State::running) return false;
  done(sdk::make_error(sdk::ErrorCode::unavailable, std::string(request) + ": the simulated pbx is not started"));
  return true;
}

void SimDriver::monitor(std::vector<std::string> devices, sdk::Completion done) {
  std::vector<std::string> added;
  for (auto& device : devices)
    if (!device.empty() && monitored_set_.insert(device).second) {
      monitored_.push_back(device);
      added.push_back(std::move(device));
    }
  // Before start the devices wait: start() reports them after the link comes up.
  if (state_ == State::running && !added.empty()) {
    model_.add_devices(added);
    context_.logger().info("devices monitored added={} operators={} offline={}", added.size(),
                           model_.operators().size(), joined(model_.offline_operators()));
  }
  done(sdk::Status::success());
}

void SimDriver::deflect(sdk::CallRef call, std::string destination, sdk::Completion done) {
  if (refuse_unless_running(done, "deflect")) return;
  auto answer = [&](sdk::Status status) {
    if (!status)
      context_.logger().debug("deflect refused call={} device={} destination={} error=\"{}\"", call.call_id,
                              call.device, destination, status.error().message);
    done(std::move(status));
  };
  // By reference (the model answers before it returns): a Completion that holds a reference needs no allocation.
  model_.deflect(call, destination, std::ref(answer));
}

void SimDriver::transfer(sdk::CallRef call, std::string destination, sdk::Completion done) {
  // The engine has no event contract for transfers yet; capabilities() says so.
  done(sdk::make_error(sdk::ErrorCode::not_supported, "the simulated pbx does not transfer calls"));
}

void SimDriver::clear(sdk::CallRef call, sdk::Completion done) {
  if (refuse_unless_running(done, "clear")) return;
  model_.clear(call, done);
}

void SimDriver::snapshot(std::string device, sdk::ResultCallback<sdk::DeviceSnapshot> done) {
  if (state_ != State::running) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "snapshot: the simulated pbx is not started"));
    return;
  }
  auto snapshot = model_.snapshot(device);
  if (!snapshot) {
    done(sdk::make_error(sdk::ErrorCode::not_found, "no device " + device + " in the simulated pbx"));
    return;
  }
  done(std::move(*snapshot));
}

void SimDriver::set_agent_state(std::string device, std::string group, sdk::AgentState state, sdk::Completion done) {
  if (refuse_unless_running(done, "set agent state")) return;
  // The model has no agent states of its own: taking the group's calls or not is all a ring-all group needs.
  bool join = state == sdk::AgentState::logged_in || state == sdk::AgentState::ready;
  auto numbers = sim::hunt_groups_following(hunt_groups_, group);
  if (numbers.empty()) {
    // An SA group whose calls Switchboard distributes itself (linear, round robin, longest idle): the PBX only
    // keeps the membership, and the simulated one has nothing to ring for it.
    context_.logger().info("sa group membership recorded group={} member={} joined={}", group, device, join);
    done(sdk::Status::success());
    return;
  }
  for (const auto& number : numbers)
    if (!model_.set_group_member(number, device, join)) {
      done(sdk::make_error(sdk::ErrorCode::not_found, device + " is not a member of hunt group " + number));
      return;
    }
  context_.logger().info("hunt group membership group={} hunt_groups={} member={} joined={}", group, joined(numbers),
                         device, join);
  done(sdk::Status::success());
}

void SimDriver::publish(const sim::PbxModel::EventMaker& make) {
  // Made right in the bus's by-value parameter (the returned local is constructed there): never moved.
  context_.events().publish([&] {
    sdk::Event event = make();
    std::visit([this](auto& e) { e.driver = context_.instance_name(); }, event);
    log_event(event);
    return event;
  }());
}

void SimDriver::log_event(const sdk::Event& event) {
  auto& log = context_.logger();
  if (!log.enabled(sdk::LogLevel::debug)) return;
  if (const auto* call = std::get_if<sdk::CallEvent>(&event))
    log.debug("call {} call={} device={} caller={} other={} cause={}", sdk::to_string(call->type),
              call->connection.call_id, call->connection.device, shown_number(call->calling), call->other_device,
              call->cause.empty() ? "none" : call->cause);
  else if (const auto* device = std::get_if<sdk::DeviceEvent>(&event))
    log.debug("device state device={} state={}", device->device, sdk::to_string(device->state));
}

void register_sim_driver(sdk::Registrar& registrar) {
  registrar.add<SimDriver>("sim", "A simulated PBX: calls to project numbers, operators who answer or not, callers "
                                  "who hang up; deterministic for a seed.");
}

}  // namespace switchboard::drivers
