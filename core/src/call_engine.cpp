#include "switchboard/core/call_engine.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "call_log_pipeline.hpp"
#include "switchboard/core/allocator.hpp"
#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::core {

// ----- devices ---------------------------------------------------------------------------------------

sdk::DeviceState DeviceTable::state(std::string_view device) const {
  auto it = devices_.find(device);
  return it == devices_.end() ? sdk::DeviceState::unknown : it->second.state;
}

std::optional<std::chrono::steady_clock::time_point> DeviceTable::idle_since(std::string_view device) const {
  auto it = devices_.find(device);
  if (it == devices_.end() || it->second.state != sdk::DeviceState::idle) return std::nullopt;
  return it->second.since;
}

void DeviceTable::set(const std::string& device, sdk::DeviceState state, std::chrono::steady_clock::time_point now) {
  auto& e = devices_[device];
  if (e.state != state) e.since = now;
  e.state = state;
}

// ----- calls ---------------------------------------------------------------------------------------

struct CallEngine::Call {
  std::string id;
  std::string driver;
  std::string dialled;
  std::string caller;
  sdk::TimePoint arrived{};
  std::size_t strategy = 0;
  sdk::RoutingDecision decision;
  std::size_t next_target = 0;
  std::string alerting_at;  // the device where the call alerts now
  std::string offered_to;   // the target being tried, once the PBX accepted the deflect
  const sdk::RouteTarget* current = nullptr;
  bool finished = false;  // the record is written; the engine only waits for the call to clear
  sdk::Timer ring_timer;
  std::vector<std::string> trail;
  bool waiting = false;  // queued by its strategy until a target is free (Action::queue)
  std::chrono::steady_clock::time_point waiting_since{};
  sdk::Timer unanswered_timer;  // the strategy's unanswered-call policy
  bool missed = false;          // already on an agent's missed-call list
};

namespace {
constexpr sdk::OutcomeCode outcome_caller_hung_up = 11;
constexpr sdk::OutcomeCode outcome_ended_unanswered = 12;
constexpr std::chrono::milliseconds waiting_recheck{500};

long long whole_seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}
}  // namespace

CallEngine::CallEngine(sdk::Context& context, NumberPlan plan, EngineWiring wiring)
    : ctx_(context), plan_(std::move(plan)), wiring_(std::move(wiring)) {
  for (std::size_t i = 0; i < wiring_.strategies.size(); ++i)
    for (const auto& number : wiring_.strategies[i].strategy->numbers()) routes_.emplace(number, i);
  // Optional interfaces (SDK 1.1) a strategy may implement beside RoutingStrategy.
  for (const auto& s : wiring_.strategies) {
    hunt_groups_.push_back(dynamic_cast<sdk::HuntGroups*>(s.strategy));
    call_policies_.push_back(dynamic_cast<sdk::CallPolicies*>(s.strategy));
  }
  const EngineWiring::Storage* log_storage = nullptr;
  for (const auto& s : wiring_.storages)
    if (s.name == wiring_.call_log_storage) log_storage = &s;
  call_log_ = std::make_unique<CallLogPipeline>(ctx_, log_storage, wiring_.exporters);
}

CallEngine::~CallEngine() = default;

const CustomerIndex* CallEngine::index_for(const std::string& storage) const {
  auto it = indexes_.find(storage);
  return it == indexes_.end() ? nullptr : &it->second;
}

void CallEngine::start(sdk::Completion done) {
  if (running_) return done({});
  subscription_ = ctx_.events().subscribe([this](const sdk::Event& e) { handle(e); });
  reload_indexes([this, done = std::move(done)](sdk::Status s) {
    if (s.ok()) running_ = true;
    done(std::move(s));
  });
}

void CallEngine::reload_indexes(sdk::Completion done) {
  std::set<std::string> needed;
  for (const auto& s : wiring_.strategies)
    if (!s.storage.empty()) needed.insert(s.storage);
  auto remaining = std::make_shared<std::size_t>(needed.size());
  auto failure = std::make_shared<sdk::Status>();
  auto shared_done = std::make_shared<sdk::Completion>(std::move(done));
  if (needed.empty()) return (*shared_done)({});
  for (const auto& name : needed) {
    auto it = std::find_if(wiring_.storages.begin(), wiring_.storages.end(), [&](const auto& s) { return s.name == name; });
    if (it == wiring_.storages.end()) {
      *failure = sdk::make_error(sdk::ErrorCode::not_found, "no storage instance named '" + name + "'");
      if (--*remaining == 0) (*shared_done)(*failure);
      continue;
    }
    auto* storage = it->storage;
    auto started = ctx_.clock().steady_now();
    auto loaded = ctx_.on_strand([this, name, remaining, failure, shared_done, started](
                                     sdk::Result<std::vector<sdk::RuleKeys>> keys) {
      if (!keys) {
        *failure = sdk::make_error(keys.error().code, "cannot load the rules of storage '" + name + "': " + keys.error().message);
      } else {
        auto& index = indexes_[name];
        index.clear();
        index.reserve(keys->size());
        for (const auto& k : *keys) index.upsert(k);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.clock().steady_now() - started).count();
        ctx_.logger().info("customer index loaded storage={} rules={} ms={} bytes={}", name, index.size(), ms,
                           index.memory_bytes());
        // The rule keys (about twice the index's size for 1M customers) are garbage now: free them and give
        // their pages back to the system instead of keeping them in the allocator's free lists for the life of
        // the process. On the blocking pool: a million frees and the release take some 0.2 s, which the first
        // routed call need not wait for.
        ctx_.run_blocking([garbage = std::make_shared<std::vector<sdk::RuleKeys>>(std::move(*keys))] {
          garbage->clear();
          garbage->shrink_to_fit();
          allocator::release_free_memory();
        });
      }
      if (--*remaining == 0) (*shared_done)(*failure);
    });
    sdk::asio::post(*it->strand, [storage, loaded = std::move(loaded)]() mutable { storage->load_rule_keys(std::move(loaded)); });
  }
}

void CallEngine::monitor_devices() {
  std::vector<std::string> devices;
  std::set<std::string> seen;
  for (const auto& s : wiring_.strategies) {
    for (const auto& n : s.strategy->numbers())
      if (seen.insert(n).second) devices.push_back(n);
    for (const auto& d : s.strategy->devices())
      if (seen.insert(d).second) devices.push_back(d);
  }
  for (const auto& [_, index] : indexes_)
    for (const auto& o : index.operators())
      if (seen.insert(o).second) devices.push_back(o);
  for (const auto& d : wiring_.drivers) {
    auto done = ctx_.on_strand([this, name = d.name](sdk::Status s) {
      if (!s.ok()) ctx_.logger().error("monitoring failed driver={} error=\"{}\"", name, s.error().message);
    });
    sdk::asio::post(*d.strand, [driver = d.driver, devices, done = std::move(done)]() mutable {
      driver->monitor(devices, std::move(done));
    });
  }
}

void CallEngine::stop(sdk::Completion done) {
  running_ = false;
  subscription_.reset();
  waiting_tick_.reset();
  for (auto& [_, call] : calls_) {
    call->ring_timer.reset();
    call->unanswered_timer.reset();
  }
  call_log_->flush([this, done = std::move(done)](sdk::Status s) {
    call_log_->close();
    done(std::move(s));
  });
}

const EngineWiring::Driver* CallEngine::driver_named(const std::string& name) const {
  for (const auto& d : wiring_.drivers)
    if (d.name == name) return &d;
  return wiring_.drivers.empty() ? nullptr : &wiring_.drivers.front();
}

void CallEngine::handle(const sdk::Event& event) {
  auto now = ctx_.clock().steady_now();
  // Strategies see every event first, so their own state (wrap-up, waiting lists) is current when the
  // engine asks them to decide because of it.
  for (const auto& s : wiring_.strategies) s.strategy->observe(event);
  if (const auto* d = std::get_if<sdk::DeviceEvent>(&event)) {
    devices_.set(d->device, d->state, now);
    if (running_ && !waiting_.empty()) reconsider_waiting();
  } else if (const auto* l = std::get_if<sdk::LinkEvent>(&event)) {
    link_up_[l->driver] = l->up;
    if (!l->up) {
      ctx_.logger().log(stopping_ ? sdk::LogLevel::debug : sdk::LogLevel::warn, "pbx link down driver={} detail=\"{}\"",
                        l->driver, l->detail);
    } else if (running_) {
      monitor_devices();  // monitors do not survive a lost link
    }
  } else if (const auto* c = std::get_if<sdk::CallEvent>(&event)) {
    if (running_) handle_call(*c);
  }
}

sdk::RoutingRequest CallEngine::make_request(const std::string& call_id, const std::string& dialled,
                                             const std::string& caller, std::size_t strategy) const {
  sdk::RoutingRequest request;
  request.call_id = call_id;
  request.dialled = dialled;
  request.caller = caller;
  request.caller_normalised = caller.empty() ? std::string{} : plan_.normalise_caller(caller);
  request.at = ctx_.clock().now();
  const auto* index = index_for(wiring_.strategies[strategy].storage);
  request.directory_empty = !index || index->empty();
  if (index && !request.caller_normalised.empty()) {
    std::vector<IndexedRule> found;
    index->find(request.caller_normalised, found);
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    for (const auto& f : found) request.matches.push_back({f.id, f.project, f.operators});
  }
  return request;
}

std::optional<sdk::RoutingDecision> CallEngine::decide(const std::string& dialled, const std::string& caller,
                                                       std::string* strategy_name) {
  auto route = routes_.find(dialled);
  if (route == routes_.end()) return std::nullopt;
  if (strategy_name) *strategy_name = wiring_.strategies[route->second].name;
  auto request = make_request("explain", dialled, caller, route->second);
  return wiring_.strategies[route->second].strategy->decide(request, devices_);
}

void CallEngine::handle_call(const sdk::CallEvent& e) {
  auto now = ctx_.clock().steady_now();
  const std::string& device = e.connection.device;
  auto it = calls_.find(e.connection.call_id);
  Call* call = it == calls_.end() ? nullptr : it->second.get();
  switch (e.type) {
    case sdk::CallEventType::delivered: {
      devices_.set(device, sdk::DeviceState::ringing, now);
      if (!call) {
        auto route = routes_.find(device);
        if (route != routes_.end()) start_call(e, route->second);
        return;
      }
      call->alerting_at = device;
      if (!ring_observers_.empty() && device != call->dialled) {
        RingingCall ringing{call->id, call->dialled, call->caller, device,
                            wiring_.strategies[call->strategy].storage, call->decision.customer_id, call->arrived};
        for (const auto& observe : ring_observers_) observe(ringing);
      }
      return;
    }
    case sdk::CallEventType::established: {
      devices_.set(device, sdk::DeviceState::busy, now);
      if (!call || call->finished) return;
      // Answered where it was offered, or by one of the phones a PBX hunt group rang for it (ring-all).
      if (call->current && device != call->dialled) {
        call->trail.push_back(fmt::format("{} answered", device));
        finish(*call, call->current->outcome, device);
      }
      return;
    }
    case sdk::CallEventType::failed: {
      if (!call || call->finished || device != call->offered_to) return;
      call->ring_timer.reset();
      call->trail.push_back(fmt::format("{} failed ({})", device, e.cause.empty() ? "no cause" : e.cause));
      call->offered_to.clear();
      offer_next(*call);
      return;
    }
    case sdk::CallEventType::diverted:
      devices_.set(device, sdk::DeviceState::idle, now);
      return;
    case sdk::CallEventType::cleared: {
      devices_.set(device, sdk::DeviceState::idle, now);
      if (!call) {
        if (!waiting_.empty()) reconsider_waiting();
        return;
      }
      if (!call->finished) {
        if (call->waiting) {
          std::erase(waiting_, call->id);
          call->trail.push_back(
              fmt::format("caller hung up after waiting {}s in the queue", whole_seconds(now - call->waiting_since)));
        } else {
          call->trail.push_back(fmt::format("caller hung up while {} rang", call->alerting_at));
        }
        finish(*call, outcome_caller_hung_up, "");
      }
      calls_.erase(call->id);
      if (!waiting_.empty()) reconsider_waiting();
      return;
    }
    case sdk::CallEventType::originated:
      // A member dialling its group's join or leave code (seed 6.1: 401 SAESPR, 402 SAASPR).
      for (auto* groups : hunt_groups_)
        if (groups)
          if (auto code = groups->membership_code(e.called)) return on_dial_code(e, *code);
      return;
    case sdk::CallEventType::transferred:
      return;
  }
}

void CallEngine::start_call(const sdk::CallEvent& e, std::size_t strategy) {
  auto call = std::make_unique<Call>();
  call->id = e.connection.call_id;
  call->driver = e.driver;
  call->dialled = e.connection.device;
  call->caller = e.calling;
  call->arrived = e.at == sdk::TimePoint{} ? ctx_.clock().now() : e.at;
  call->strategy = strategy;
  call->alerting_at = e.connection.device;
  auto request = make_request(call->id, call->dialled, call->caller, strategy);
  call->decision = wiring_.strategies[strategy].strategy->decide(request, devices_);
  call->trail = std::move(call->decision.trail);  // the call's own trail grows from here
  auto& ref = *call;
  calls_.emplace(call->id, std::move(call));
  ctx_.logger().debug("call delivered call={} project={} caller={} targets={}", ref.id, ref.dialled,
                      ref.caller.empty() ? "withheld" : ref.caller, ref.decision.targets.size());
  if (auto* policies = call_policies_[strategy])
    if (auto policy = policies->unanswered(ref.dialled))
      ref.unanswered_timer = ctx_.call_after(policy->after, [this, id = ref.id] { unanswered(id); });
  take_decision(ref);
}

void CallEngine::take_decision(Call& call) {
  switch (call.decision.action) {
    case sdk::RoutingDecision::Action::clear:
      end_call(call, call.decision.outcome_when_exhausted, "call ended as the strategy decided");
      return;
    case sdk::RoutingDecision::Action::queue:
      wait_in_queue(call);
      return;
    case sdk::RoutingDecision::Action::offer:
      call.next_target = 0;
      offer_next(call);
      return;
  }
}

void CallEngine::wait_in_queue(Call& call) {
  if (!call.waiting) {
    call.waiting = true;
    call.waiting_since = ctx_.clock().steady_now();
    waiting_.push_back(call.id);
  }
  arm_waiting_recheck();
}

void CallEngine::arm_waiting_recheck() {
  if (waiting_.empty() || waiting_tick_) return;
  waiting_tick_ = ctx_.call_after(waiting_recheck, [this] {
    waiting_tick_.reset();
    reconsider_waiting();
  });
}

// Asks again for every waiting call, oldest first: a device changed state, a call ended, a member joined,
// or the periodic recheck (a wrap-up that ends changes no device). Only the answer that ends the wait goes
// into the call's trail.
void CallEngine::reconsider_waiting() {
  const auto ids = waiting_;
  for (const auto& id : ids) {
    auto it = calls_.find(id);
    if (it == calls_.end() || !it->second->waiting || it->second->finished) {
      std::erase(waiting_, id);
      continue;
    }
    Call& call = *it->second;
    auto request = make_request(call.id, call.dialled, call.caller, call.strategy);
    auto decision = wiring_.strategies[call.strategy].strategy->decide(request, devices_);
    if (decision.action == sdk::RoutingDecision::Action::queue) continue;
    call.waiting = false;
    std::erase(waiting_, id);
    call.trail.push_back(
        fmt::format("waited {}s in the queue", whole_seconds(ctx_.clock().steady_now() - call.waiting_since)));
    for (auto& line : decision.trail) call.trail.push_back(std::move(line));
    decision.trail.clear();
    call.current = nullptr;  // pointed into the old decision's targets
    call.decision = std::move(decision);
    take_decision(call);
  }
  arm_waiting_recheck();
}

void CallEngine::end_call(Call& call, sdk::OutcomeCode outcome, const std::string& why) {
  if (call.waiting) {
    call.waiting = false;
    std::erase(waiting_, call.id);
  }
  call.trail.push_back(why);
  clear_at_pbx(call.driver, {call.id, call.alerting_at});
  finish(call, outcome, "");
}

void CallEngine::unanswered(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || it->second->finished) return;
  Call& call = *it->second;
  auto policy = call_policies_[call.strategy]->unanswered(call.dialled);
  if (!policy) return;
  auto after = std::chrono::duration_cast<std::chrono::seconds>(policy->after).count();
  if (policy->action == sdk::UnansweredPolicy::Action::notify) {
    call.trail.push_back(fmt::format("unanswered after {}s: on {}'s missed-call list", after, policy->agent));
    record_missed(call, policy->agent);
    return;
  }
  call.ring_timer.reset();
  end_call(call, outcome_ended_unanswered, fmt::format("unanswered after {}s: call ended by the policy", after));
}

void CallEngine::record_missed(Call& call, const std::string& agent) {
  if (call.missed) return;
  call.missed = true;
  const auto* storage = record_storage();
  if (!storage) {
    ctx_.logger().warn("missed call not kept call={} agent={} error=\"no storage\"", call.id, agent);
    return;
  }
  sdk::MissedCall missed;
  missed.at = call.arrived;
  missed.number = call.dialled;
  missed.caller = call.caller;
  missed.agent_extension = agent;
  missed.customer_id = call.decision.customer_id;
  auto done = ctx_.on_strand([this, id = call.id, agent](sdk::Result<sdk::MissedCall> stored) {
    if (!stored)
      ctx_.logger().error("missed call not kept call={} agent={} error=\"{}\"", id, agent, stored.error().message);
  });
  sdk::asio::post(*storage->strand, [s = storage->storage, missed = std::move(missed), done = std::move(done)]() mutable {
    s->add_missed(std::move(missed), std::move(done));
  });
}

const EngineWiring::Storage* CallEngine::record_storage() const {
  for (const auto& s : wiring_.storages)
    if (s.name == wiring_.call_log_storage) return &s;
  return nullptr;
}

void CallEngine::clear_at_pbx(const std::string& driver_name, sdk::CallRef call) {
  const auto* driver = driver_named(driver_name);
  if (!driver) return;
  auto done = ctx_.on_strand([this, call](sdk::Status status) {
    if (!status.ok())
      ctx_.logger().warn("call not cleared call={} device={} error=\"{}\"", call.call_id, call.device,
                         status.error().message);
  });
  sdk::asio::post(*driver->strand, [d = driver->driver, call, done = std::move(done)]() mutable {
    d->clear(call, std::move(done));
  });
}

// ----- SA groups: membership and the PBX command log --------------------------------------------------

void CallEngine::on_dial_code(const sdk::CallEvent& e, sdk::MembershipCode code) {
  const std::string& member = e.connection.device;
  const bool join = code == sdk::MembershipCode::join;
  auto status = set_membership(member, join, "dial code " + e.called);
  if (!status.ok())
    ctx_.logger().warn("dial code ignored device={} code={} error=\"{}\"", member, e.called, status.error().message);
  clear_at_pbx(e.driver, e.connection);  // the feature call itself ends here, as the PBX's own would
}

sdk::Status CallEngine::set_membership(const std::string& member, bool join, const std::string& actor) {
  bool member_somewhere = false;
  for (auto* groups : hunt_groups_) {
    if (!groups) continue;
    for (const auto& group : groups->groups_of(member)) {
      if (!groups->set_joined(group, member, join)) continue;
      member_somewhere = true;
      ctx_.logger().info("group membership member={} group={} {} by=\"{}\"", member, group, join ? "joined" : "left",
                         actor);
      send_membership(member, group, join, actor);
    }
  }
  if (!member_somewhere)
    return sdk::make_error(sdk::ErrorCode::not_found, member + " is no member of any SA group");
  if (join && !waiting_.empty()) reconsider_waiting();
  return {};
}

void CallEngine::send_membership(const std::string& member, const std::string& group, bool join,
                                 const std::string& actor) {
  auto command = fmt::format("set_agent_state device={} group={} state={}", member, group,
                             join ? "logged_in" : "logged_out");
  const auto* driver = driver_named("");
  if (!driver) return log_command("-", actor, command, sdk::make_error(sdk::ErrorCode::unavailable, "no pbx driver"));
  if (!driver->driver->capabilities().agent_state)
    return log_command(driver->name, actor, command,
                       sdk::make_error(sdk::ErrorCode::not_supported, "the driver cannot set agent state"));
  auto done = ctx_.on_strand([this, name = driver->name, actor, command](sdk::Status status) {
    log_command(name, actor, command, status);
  });
  sdk::asio::post(*driver->strand, [d = driver->driver, member, group, join, done = std::move(done)]() mutable {
    d->set_agent_state(member, group, join ? sdk::AgentState::logged_in : sdk::AgentState::logged_out, std::move(done));
  });
}

// Seed 6.1 g: every command sent to the PBX for SA groups goes to LOG_SA.TXT; here also to the audit table.
// The file is only ever appended to.
void CallEngine::log_command(const std::string& driver, const std::string& actor, const std::string& command,
                             const sdk::Status& result) {
  const auto at = ctx_.clock().now();
  const std::string outcome = result.ok() ? "ok" : "error: " + result.error().message;
  ctx_.logger().log(result.ok() ? sdk::LogLevel::info : sdk::LogLevel::warn,
                    "pbx command driver={} by=\"{}\" command=\"{}\" result=\"{}\"", driver, actor, command, outcome);
  if (!wiring_.command_log.empty()) {
    std::error_code ignored;
    std::filesystem::create_directories(std::filesystem::path(wiring_.command_log).parent_path(), ignored);
    std::ofstream out(wiring_.command_log, std::ios::app | std::ios::binary);
    out << sdk::seed_timestamp(at) << ';' << sdk::seed_field(driver) << ';' << sdk::seed_field(actor) << ';'
        << sdk::seed_field(command) << ';' << sdk::seed_field(outcome) << ";\n";
    if (!out) ctx_.logger().error("pbx command log not written file={}", wiring_.command_log);
  }
  const auto* storage = record_storage();
  if (!storage) return;
  sdk::AuditRecord record;
  record.at = at;
  record.instance = driver;
  record.actor = actor;
  record.command = command;
  record.result = outcome;
  record.ok = result.ok();
  auto done = ctx_.on_strand([this](sdk::Status status) {
    if (!status.ok()) ctx_.logger().error("audit not stored error=\"{}\"", status.error().message);
  });
  sdk::asio::post(*storage->strand, [s = storage->storage, record = std::move(record), done = std::move(done)]() mutable {
    s->append_audit({std::move(record)}, std::move(done));
  });
}

std::vector<sdk::GroupStatus> CallEngine::group_status() const {
  std::vector<sdk::GroupStatus> all;
  for (auto* groups : hunt_groups_)
    if (groups)
      for (auto& g : groups->group_status()) all.push_back(std::move(g));
  return all;
}

void CallEngine::offer_next(Call& call) {
  auto& link = link_up_[call.driver];
  const auto* driver = driver_named(call.driver);
  while (call.next_target < call.decision.targets.size()) {
    const auto& target = call.decision.targets[call.next_target++];
    // The strategy decided on the states of that moment; a target may have changed since.
    auto state = devices_.state(target.destination);
    if (state == sdk::DeviceState::busy || state == sdk::DeviceState::ringing || state == sdk::DeviceState::offline) {
      call.trail.push_back(fmt::format("{} {} now, skipped", target.destination, sdk::to_string(state)));
      continue;
    }
    if (!driver || !link) {
      call.trail.push_back("pbx link down: not routed into it");
      break;
    }
    call.current = &target;
    auto call_id = call.id;
    auto destination = target.destination;
    auto done = ctx_.on_strand([this, call_id, destination](sdk::Status status) {
      auto it = calls_.find(call_id);
      if (it == calls_.end()) return;
      Call& c = *it->second;
      if (c.finished) return;
      if (!status.ok()) {
        c.trail.push_back(fmt::format("{} refused by the pbx ({})", destination, status.error().message));
        offer_next(c);
        return;
      }
      c.offered_to = destination;
      auto timeout = c.decision.ring_timeout.count() > 0 ? c.decision.ring_timeout : default_ring_timeout_;
      c.ring_timer = ctx_.call_after(timeout, [this, call_id, destination, timeout] {
        auto it = calls_.find(call_id);
        if (it == calls_.end() || it->second->finished || it->second->offered_to != destination) return;
        it->second->trail.push_back(fmt::format("{} did not answer within {}s", destination,
                                                std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
        it->second->offered_to.clear();
        offer_next(*it->second);
      });
    });
    sdk::CallRef ref{call.id, call.alerting_at};
    sdk::asio::post(*driver->strand, [d = driver->driver, ref, destination, done = std::move(done)]() mutable {
      d->deflect(ref, destination, std::move(done));
    });
    return;
  }
  call.trail.push_back("no operator left to try");
  finish(call, call.decision.outcome_when_exhausted, "");
}

void CallEngine::finish(Call& call, sdk::OutcomeCode outcome, const std::string& operator_extension) {
  call.finished = true;
  call.ring_timer.reset();
  call.unanswered_timer.reset();
  // Not answered at all (given up, hung up, ended): on the policy's agent's missed-call list too.
  if (operator_extension.empty() && outcome != outcome_ended_unanswered && !call.missed && call_policies_[call.strategy])
    if (auto policy = call_policies_[call.strategy]->unanswered(call.dialled);
        policy && policy->action == sdk::UnansweredPolicy::Action::notify) {
      call.trail.push_back(fmt::format("not answered: on {}'s missed-call list", policy->agent));
      record_missed(call, policy->agent);
    }
  sdk::CallRecord record;
  record.at = call.arrived;
  record.call_id = call.id;
  record.project = call.dialled;
  record.caller = call.caller;
  record.operator_extension = operator_extension;
  record.outcome = outcome;
  record.customer_id = call.decision.customer_id;
  record.strategy = wiring_.strategies[call.strategy].name;
  record.reasons = std::move(call.trail);  // a finished call takes no more trail lines
  ctx_.logger().debug("call finished call={} project={} caller={} operator={} outcome={}", call.id, call.dialled,
                      call.caller.empty() ? "withheld" : call.caller, operator_extension.empty() ? "-" : operator_extension,
                      outcome);
  for (const auto& o : observers_) o(record);
  call_log_->append(std::move(record));
}

}  // namespace switchboard::core
