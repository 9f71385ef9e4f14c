#include "pbx_model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <utility>

namespace switchboard::sim {

namespace {

// Spreads neighbouring seeds (1, 2, 3…) over the engine's state space.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Czech mobile prefixes; with the exit code 0 in front they read as a PBX presents an external caller.
constexpr std::array<const char*, 16> mobile_prefixes{"601", "602", "603", "604", "605", "606", "607", "608",
                                                      "702", "720", "721", "723", "724", "731", "774", "777"};

constexpr const char* withheld_releasing_device = "caller";

}  // namespace

// ----- RandomStream ------------------------------------------------------------------------------------

RandomStream::RandomStream(std::uint64_t seed) : engine_(splitmix64(seed)) {}

double RandomStream::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

Duration RandomStream::between(Duration low, Duration high) {
  auto span = static_cast<double>((high - low).count());
  return low + Duration(static_cast<Duration::rep>(std::llround(uniform() * span)));
}

Duration RandomStream::exponential(Duration mean) {
  double draw = -std::log1p(-uniform()) * static_cast<double>(mean.count());
  return Duration(static_cast<Duration::rep>(std::llround(draw)));
}

// ----- PbxModel ----------------------------------------------------------------------------------------

PbxModel::PbxModel(PbxModelSettings settings, Scheduler& scheduler, EventSink sink)
    : settings_(std::move(settings)),
      scheduler_(scheduler),
      sink_(std::move(sink)),
      arrivals_(settings_.seed * 2),
      behaviour_(settings_.seed * 2 + 1) {}

void PbxModel::set_projects(const std::vector<std::string>& numbers) {
  projects_.clear();
  for (const auto& number : numbers) {
    if (number.empty() || std::find(projects_.begin(), projects_.end(), number) != projects_.end()) continue;
    projects_.push_back(number);
    auto& device = devices_[number];
    device.project = true;
    device.group = false;
    device.offline = false;
    groups_.erase(number);
  }
}

void PbxModel::set_known_callers(std::vector<KnownCaller> callers) { known_callers_ = std::move(callers); }

void PbxModel::add_devices(const std::vector<std::string>& numbers) {
  std::vector<std::string> reported;
  std::vector<std::string> new_operators;
  for (const auto& number : numbers) {
    if (number.empty() || std::find(reported.begin(), reported.end(), number) != reported.end()) continue;
    reported.push_back(number);
    if (devices_.try_emplace(number).second) new_operators.push_back(number);
  }
  // The share holds over every operator so far, so monitoring one device at a time logs out as many as
  // monitoring all at once; sorted, so who is out depends on the seed and the operators, not their order.
  std::sort(new_operators.begin(), new_operators.end());
  operators_created_ += new_operators.size();
  auto target = static_cast<std::size_t>(
      std::lround(settings_.offline_operators * static_cast<double>(operators_created_)));
  auto logged_out = std::min(new_operators.size(), target > operators_logged_out_ ? target - operators_logged_out_ : 0);
  operators_logged_out_ += logged_out;
  for (std::size_t i = 0; i < logged_out; ++i) {
    auto pick = i + behaviour_.index(new_operators.size() - i);
    std::swap(new_operators[i], new_operators[pick]);
    devices_[new_operators[i]].offline = true;
  }
  for (const auto& number : reported) emit_device(number);
}

bool PbxModel::set_logged_in(const std::string& number, bool logged_in) {
  auto it = devices_.find(number);
  if (it == devices_.end() || it->second.project || it->second.group || !it->second.call.empty()) return false;
  if (it->second.offline != logged_in) return true;
  it->second.offline = !logged_in;
  emit_device(number);
  return true;
}

void PbxModel::set_hunt_group(const std::string& number, const std::vector<std::string>& members) {
  if (number.empty()) return;
  auto& device = devices_[number];
  device.project = false;
  device.group = true;
  device.offline = false;
  projects_.erase(std::remove(projects_.begin(), projects_.end(), number), projects_.end());
  auto& list = groups_[number];
  list.clear();
  for (const auto& member : members) {
    if (member.empty() || member == number) continue;
    if (std::none_of(list.begin(), list.end(), [&](const GroupMember& m) { return m.number == member; }))
      list.push_back({member, true});
  }
}

bool PbxModel::set_group_member(const std::string& group, const std::string& member, bool joined) {
  auto it = groups_.find(group);
  if (it == groups_.end()) return false;
  for (auto& m : it->second)
    if (m.number == member) {
      m.joined = joined;
      return true;
    }
  return false;
}

std::vector<std::string> PbxModel::groups_of(const std::string& member) const {
  std::vector<std::string> out;
  for (const auto& [number, members] : groups_)
    if (std::any_of(members.begin(), members.end(), [&](const GroupMember& m) { return m.number == member; }))
      out.push_back(number);
  return out;
}

void PbxModel::start() {
  if (running_) return;
  running_ = true;
  schedule_arrival();
  schedule_dials();
}

void PbxModel::stop() {
  running_ = false;
  arrival_timer_.reset();
  dial_timers_.clear();
  calls_.clear();  // their timers are cancelled with them
  for (auto& [number, device] : devices_) device.call.clear();
}

std::vector<std::string> PbxModel::operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project && !device.group) out.push_back(number);
  return out;
}

std::vector<std::string> PbxModel::offline_operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project && !device.group && device.offline) out.push_back(number);
  return out;
}

Duration PbxModel::scaled(Duration model_time) const {
  return Duration(static_cast<Duration::rep>(std::llround(static_cast<double>(model_time.count()) / settings_.speed)));
}

void PbxModel::schedule_arrival() {
  if (!running_ || settings_.calls_per_minute <= 0 || projects_.empty()) return;
  if (settings_.max_calls != 0 && generated_ >= settings_.max_calls) return;
  auto mean_gap =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(60.0 / settings_.calls_per_minute));
  arrival_timer_ = scheduler_.schedule(scaled(arrivals_.exponential(mean_gap)), [this] {
    generate_call();
    schedule_arrival();
  });
}

void PbxModel::schedule_dials() {
  // No draws: scripted dials leave the seed's traffic as it is.
  dial_timers_.clear();
  for (const auto& planned : settings_.dials)
    dial_timers_.push_back(scheduler_.schedule(scaled(planned.after), [this, from = planned.from, number = planned.number] {
      dial(from, number);  // an operator busy or logged out by then does not dial
    }));
}

void PbxModel::generate_call() {
  ++generated_;
  std::string caller;
  std::string project;
  double kind = arrivals_.uniform();
  if (kind < settings_.withheld_callers) {
    // withheld: no number
  } else if (kind < settings_.withheld_callers + settings_.known_callers && !known_callers_.empty()) {
    const auto& known = known_callers_[arrivals_.index(known_callers_.size())];
    caller = known.number;
    if (std::find(projects_.begin(), projects_.end(), known.project) != projects_.end()) project = known.project;
  } else {
    caller = random_mobile_number();
  }
  if (project.empty()) project = projects_[arrivals_.index(projects_.size())];
  open_call(project, caller);
}

std::string PbxModel::random_mobile_number() {
  std::string number = std::string("0") + mobile_prefixes[arrivals_.index(mobile_prefixes.size())];
  for (int i = 0; i < 6; ++i) number += static_cast<char>('0' + arrivals_.index(10));
  return number;
}

std::optional<std::string> PbxModel::offer_call(const std::string& project, const std::string& caller) {
  auto it = devices_.find(project);
  if (it == devices_.end() || !it->second.project) return std::nullopt;
  return open_call(project, caller);
}

std::string PbxModel::open_call(const std::string& project, const std::string& caller) {
  auto sequence = ++last_call_;
  std::string id = "sim-" + std::to_string(sequence);
  Call& call = calls_[id];
  call.sequence = sequence;
  call.id = id;
  call.caller = caller;
  call.called = project;
  call.device = project;
  call.talk_time = arrivals_.between(settings_.talk_time_min, settings_.talk_time_max);
  auto patience = arrivals_.between(settings_.abandon_min, settings_.abandon_max);
  call.caller_timer = scheduler_.schedule(scaled(patience), [this, id] { caller_hangs_up(id); });

  auto delivered = call_event(sdk::CallEventType::delivered, call, project);
  delivered.other_device = project;
  delivered.cause = "new_call";
  delivered.local_state = sdk::ConnectionState::alerting;
  sink_(std::move(delivered));
  return id;
}

std::optional<std::string> PbxModel::dial(const std::string& from, const std::string& to) {
  auto it = devices_.find(from);
  if (it == devices_.end() || it->second.project || it->second.group || it->second.offline ||
      !it->second.call.empty())
    return std::nullopt;
  auto sequence = ++last_call_;
  std::string id = "sim-" + std::to_string(sequence);
  Call& call = calls_[id];
  call.sequence = sequence;
  call.id = id;
  call.caller = from;
  call.called = to;
  call.device = from;
  call.originated = true;
  it->second.call = id;

  auto originated = call_event(sdk::CallEventType::originated, call, from);
  originated.other_device = from;
  originated.local_state = sdk::ConnectionState::initiated;
  sink_(std::move(originated));
  emit_device(from);
  return id;
}

std::optional<sdk::Error> PbxModel::check_destination(const std::string& destination,
                                                      std::vector<std::string>& members) const {
  auto target = devices_.find(destination);
  if (target == devices_.end()) return sdk::Error{sdk::ErrorCode::unavailable, "no extension " + destination};
  if (target->second.group) {
    for (const auto& member : groups_.at(destination)) {
      auto device = devices_.find(member.number);
      if (!member.joined || device == devices_.end() || device->second.project || device->second.group ||
          device->second.offline || !device->second.call.empty())
        continue;
      members.push_back(member.number);
    }
    if (members.empty())
      return sdk::Error{sdk::ErrorCode::busy, "hunt group " + destination + " has no free member"};
    return std::nullopt;
  }
  if (target->second.offline)
    return sdk::Error{sdk::ErrorCode::unavailable, "extension " + destination + " is logged out"};
  if (!target->second.project && !target->second.call.empty())
    return sdk::Error{sdk::ErrorCode::busy,
                      "extension " + destination + " is " + sdk::to_string(state_of(target->second))};
  return std::nullopt;
}

std::vector<std::string> PbxModel::devices_of(const Call& call) const {
  if (!call.ringing.empty()) return call.ringing;
  return {call.device};
}

bool PbxModel::is_at(const Call& call, const std::string& device) const {
  if (!call.ringing.empty()) return std::find(call.ringing.begin(), call.ringing.end(), device) != call.ringing.end();
  return call.device == device;
}

void PbxModel::move_call(Call& call, const std::string& destination, const std::vector<std::string>& members) {
  for (const auto& number : devices_of(call)) {
    Device& left = devices_.at(number);
    if (!left.project) left.call.clear();
  }
  call.operator_timer.reset();  // the operators it leaves will not answer it any more
  call.member_timers.clear();
  call.ringing = members;
  call.device = destination;
  // Members are rung in their declared order, so the answer draws follow the group's order.
  for (const auto& member : members) {
    devices_.at(member).call = call.id;
    call.member_timers.push_back(ring_operator(call.id, member));
  }
  Device& target = devices_.at(destination);
  if (members.empty() && !target.project) {
    target.call = call.id;
    call.operator_timer = ring_operator(call.id, destination);
  }
}

void PbxModel::emit_delivered(const Call& call, const std::string& cause) {
  for (const auto& device : devices_of(call)) {
    auto delivered = call_event(sdk::CallEventType::delivered, call, device);
    delivered.other_device = device;
    delivered.cause = cause;
    delivered.local_state = sdk::ConnectionState::alerting;
    sink_(std::move(delivered));
  }
}

void PbxModel::deflect(const sdk::CallRef& ref, const std::string& destination, const sdk::Completion& done) {
  auto call_it = calls_.find(ref.call_id);
  if (call_it == calls_.end() || call_it->second.answered || call_it->second.originated ||
      !is_at(call_it->second, ref.device)) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not alerting at " + ref.device));
    return;
  }
  std::vector<std::string> members;
  if (auto error = check_destination(destination, members)) {
    done(*error);
    return;
  }
  Call& call = call_it->second;
  if (destination == ref.device || destination == call.device) {
    done(sdk::make_error(sdk::ErrorCode::invalid_argument,
                         "call " + ref.call_id + " already alerts at " + destination));
    return;
  }

  // Every device it rang at is left: ref.device first, then the rest of a ring-all group's members.
  auto left = devices_of(call);
  std::stable_partition(left.begin(), left.end(), [&](const std::string& d) { return d == ref.device; });
  move_call(call, destination, members);
  call.redirecting = ref.device;
  done(sdk::Status::success());

  for (const auto& device : left) {
    auto diverted = call_event(sdk::CallEventType::diverted, call, device);
    diverted.other_device = destination;
    diverted.cause = "redirected";
    sink_(std::move(diverted));
  }
  emit_delivered(call, "redirected");
  for (const auto& device : left)
    if (!devices_.at(device).project) emit_device(device);
  for (const auto& device : devices_of(call))
    if (!devices_.at(device).project) emit_device(device);
}

std::unique_ptr<ScheduledTask> PbxModel::ring_operator(const std::string& call_id, const std::string& device) {
  // Both draws are made whatever the outcome, so one operator's choice does not shift the next ones.
  bool answers = behaviour_.chance(settings_.answer_probability);
  auto delay = behaviour_.between(settings_.answer_delay_min, settings_.answer_delay_max);
  if (!answers) return nullptr;
  return scheduler_.schedule(scaled(delay), [this, call_id, device] { answer(call_id, device); });
}

void PbxModel::answer(const std::string& call_id, const std::string& device) {
  auto it = calls_.find(call_id);
  if (it == calls_.end() || !is_at(it->second, device)) return;
  Call& call = it->second;
  // Ring-all: the first member to answer takes the call; the others stop ringing.
  std::vector<std::string> others;
  for (const auto& member : call.ringing)
    if (member != device) others.push_back(member);
  for (const auto& member : others) devices_.at(member).call.clear();
  auto answered_timer = std::move(call.member_timers);  // the running task among them dies with this scope
  call.ringing.clear();
  call.device = device;
  call.answered = true;
  call.caller_timer.reset();
  auto established = call_event(sdk::CallEventType::established, call, device);
  established.other_device = device;
  established.local_state = sdk::ConnectionState::connected;
  sink_(std::move(established));
  emit_device(device);
  for (const auto& member : others) {
    auto cleared = call_event(sdk::CallEventType::cleared, call, member);
    cleared.other_device = member;
    cleared.cause = "normal_clearing";
    sink_(std::move(cleared));
    emit_device(member);
  }
  call.operator_timer = scheduler_.schedule(scaled(call.talk_time), [this, call_id] { end_conversation(call_id); });
}

void PbxModel::end_conversation(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it != calls_.end()) finish(call_id, it->second.device);
}

void PbxModel::caller_hangs_up(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  const auto& caller = it->second.caller;
  finish(call_id, caller.empty() ? std::string(withheld_releasing_device) : caller);
}

void PbxModel::transfer(const sdk::CallRef& ref, const std::string& destination, const sdk::Completion& done) {
  auto call_it = calls_.find(ref.call_id);
  if (call_it == calls_.end() || !call_it->second.answered || call_it->second.device != ref.device) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not answered at " + ref.device));
    return;
  }
  if (destination == ref.device) {
    done(sdk::make_error(sdk::ErrorCode::invalid_argument, "call " + ref.call_id + " is already at " + destination));
    return;
  }
  std::vector<std::string> members;
  if (auto error = check_destination(destination, members)) {
    done(*error);
    return;
  }

  Call& call = call_it->second;
  call.answered = false;
  call.redirecting = ref.device;
  // Drawn before the destination's answer, as always, so the draws keep their order.
  auto patience = behaviour_.between(settings_.abandon_min, settings_.abandon_max);
  call.caller_timer = scheduler_.schedule(scaled(patience), [this, id = call.id] { caller_hangs_up(id); });
  move_call(call, destination, members);  // the conversation with the old operator is over
  done(sdk::Status::success());

  auto cleared = call_event(sdk::CallEventType::cleared, call, ref.device);
  cleared.other_device = ref.device;
  cleared.cause = "transfer";
  sink_(std::move(cleared));
  emit_delivered(call, "transfer");
  emit_device(ref.device);
  for (const auto& device : devices_of(call))
    if (!devices_.at(device).project) emit_device(device);
}

void PbxModel::clear(const sdk::CallRef& ref, const sdk::Completion& done) {
  auto it = calls_.find(ref.call_id);
  if (it == calls_.end() || !is_at(it->second, ref.device)) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not at " + ref.device));
    return;
  }
  done(sdk::Status::success());
  finish(ref.call_id, ref.device);
}

void PbxModel::finish(const std::string& call_id, const std::string& releasing) {
  auto node = calls_.extract(call_id);  // its timers are cancelled when `node` goes
  Call& call = node.mapped();
  for (const auto& number : devices_of(call)) {
    auto cleared = call_event(sdk::CallEventType::cleared, call, number);
    cleared.other_device = releasing;
    cleared.cause = "normal_clearing";
    sink_(std::move(cleared));
    Device& device = devices_.at(number);
    if (!device.project) {
      device.call.clear();
      emit_device(number);
    }
  }
}

std::optional<sdk::DeviceSnapshot> PbxModel::snapshot(const std::string& number) const {
  auto it = devices_.find(number);
  if (it == devices_.end()) return std::nullopt;
  sdk::DeviceSnapshot snapshot;
  snapshot.device = number;
  snapshot.state = state_of(it->second);
  std::vector<const Call*> here;
  for (const auto& [id, call] : calls_)
    if (is_at(call, number)) here.push_back(&call);
  std::sort(here.begin(), here.end(), [](const Call* a, const Call* b) { return a->sequence < b->sequence; });
  for (const Call* call : here) {
    snapshot.calls.push_back({call->id, number});
    snapshot.states.push_back(call->answered     ? sdk::ConnectionState::connected
                              : call->originated ? sdk::ConnectionState::initiated
                                                 : sdk::ConnectionState::alerting);
  }
  return snapshot;
}

sdk::DeviceState PbxModel::state_of(const Device& device) const {
  if (device.offline) return sdk::DeviceState::offline;
  if (device.project || device.group || device.call.empty()) return sdk::DeviceState::idle;
  const Call& call = calls_.at(device.call);
  return call.answered || call.originated ? sdk::DeviceState::busy : sdk::DeviceState::ringing;
}

sdk::CallEvent PbxModel::call_event(sdk::CallEventType type, const Call& call, const std::string& device) const {
  sdk::CallEvent event;
  event.type = type;
  event.connection = {call.id, device};
  event.calling = call.caller;
  event.called = call.called;
  event.redirecting = call.redirecting;
  event.at = scheduler_.now();
  return event;
}

void PbxModel::emit_device(const std::string& number) {
  sdk::DeviceEvent event;
  event.device = number;
  event.state = state_of(devices_.at(number));
  event.at = scheduler_.now();
  sink_(std::move(event));
}

}  // namespace switchboard::sim
