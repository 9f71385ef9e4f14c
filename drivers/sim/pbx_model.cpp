#include "pbx_model.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
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

const std::string withheld_releasing_device = "caller";

constexpr std::string_view call_id_prefix = "sim-";

std::string call_id(std::uint64_t sequence) { return std::string(call_id_prefix) + std::to_string(sequence); }

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
  if (it == devices_.end() || it->second.project || it->second.group || it->second.call != 0) return false;
  if (it->second.offline != logged_in) return true;
  it->second.offline = !logged_in;
  emit_device(it->first, it->second);
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
  for (auto& [number, device] : devices_) device.call = 0;
}

std::vector<std::string> PbxModel::operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project && !device.group) out.push_back(number);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PbxModel::offline_operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project && !device.group && device.offline) out.push_back(number);
  std::sort(out.begin(), out.end());
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
  const std::string* project = nullptr;
  double kind = arrivals_.uniform();
  if (kind < settings_.withheld_callers) {
    // withheld: no number
  } else if (kind < settings_.withheld_callers + settings_.known_callers && !known_callers_.empty()) {
    const auto& known = known_callers_[arrivals_.index(known_callers_.size())];
    caller = known.number;
    if (std::find(projects_.begin(), projects_.end(), known.project) != projects_.end()) project = &known.project;
  } else {
    caller = random_mobile_number();
  }
  if (project == nullptr) project = &projects_[arrivals_.index(projects_.size())];
  open_call(*project, std::move(caller));
}

std::string PbxModel::random_mobile_number() {
  std::string number = "0";
  number += mobile_prefixes[arrivals_.index(mobile_prefixes.size())];
  for (int i = 0; i < 6; ++i) number += static_cast<char>('0' + arrivals_.index(10));
  return number;
}

std::optional<std::string> PbxModel::offer_call(const std::string& project, const std::string& caller) {
  auto it = devices_.find(project);
  if (it == devices_.end() || !it->second.project) return std::nullopt;
  return open_call(project, caller);
}

std::string PbxModel::open_call(const std::string& project, std::string caller) {
  auto sequence = ++last_call_;
  Call& call = calls_[sequence];
  call.sequence = sequence;
  call.id = call_id(sequence);
  call.caller = std::move(caller);
  call.called = project;
  call.device = project;
  call.talk_time = arrivals_.between(settings_.talk_time_min, settings_.talk_time_max);
  auto patience = arrivals_.between(settings_.abandon_min, settings_.abandon_max);
  call.caller_timer = scheduler_.schedule(scaled(patience), [this, sequence] { caller_hangs_up(sequence); });

  emit_call_event(sdk::CallEventType::delivered, call, project, project, "new_call", sdk::ConnectionState::alerting);
  return call.id;
}

PbxModel::Call* PbxModel::find_call(std::uint64_t sequence) {
  auto it = calls_.find(sequence);
  return it == calls_.end() ? nullptr : &it->second;
}

PbxModel::Call* PbxModel::find_call(std::string_view id) {
  std::uint64_t sequence = 0;
  if (!id.starts_with(call_id_prefix) ||
      std::from_chars(id.data() + call_id_prefix.size(), id.data() + id.size(), sequence).ec != std::errc{})
    return nullptr;
  Call* call = find_call(sequence);
  return call != nullptr && call->id == id ? call : nullptr;  // "sim-01" or "sim-1x" is no id of ours
}

std::optional<std::string> PbxModel::dial(const std::string& from, const std::string& to) {
  auto it = devices_.find(from);
  if (it == devices_.end() || it->second.project || it->second.group || it->second.offline || it->second.call != 0)
    return std::nullopt;
  auto sequence = ++last_call_;
  Call& call = calls_[sequence];
  call.sequence = sequence;
  call.id = call_id(sequence);
  call.caller = from;
  call.called = to;
  call.device = from;
  call.originated = true;
  it->second.call = sequence;

  emit_call_event(sdk::CallEventType::originated, call, from, from, "", sdk::ConnectionState::initiated);
  emit_device(it->first, it->second);
  return call.id;
}

sdk::Result<PbxModel::DeviceEntry*> PbxModel::check_destination(const std::string& destination,
                                                                std::vector<std::string>& members) {
  auto target = devices_.find(destination);
  if (target == devices_.end()) return sdk::Error{sdk::ErrorCode::unavailable, "no extension " + destination};
  if (target->second.group) {
    for (const auto& member : groups_.at(destination)) {
      auto device = devices_.find(member.number);
      if (!member.joined || device == devices_.end() || device->second.project || device->second.group ||
          device->second.offline || device->second.call != 0)
        continue;
      members.push_back(member.number);
    }
    if (members.empty())
      return sdk::Error{sdk::ErrorCode::busy, "hunt group " + destination + " has no free member"};
    return &*target;
  }
  if (target->second.offline)
    return sdk::Error{sdk::ErrorCode::unavailable, "extension " + destination + " is logged out"};
  if (!target->second.project && target->second.call != 0)
    return sdk::Error{sdk::ErrorCode::busy,
                      "extension " + destination + " is " + sdk::to_string(state_of(target->second))};
  return &*target;
}

std::span<const std::string> PbxModel::devices_of(const Call& call) {
  if (!call.ringing.empty()) return call.ringing;
  return {&call.device, 1};
}

bool PbxModel::is_at(const Call& call, const std::string& device) {
  if (!call.ringing.empty()) return std::find(call.ringing.begin(), call.ringing.end(), device) != call.ringing.end();
  return call.device == device;
}

void PbxModel::move_call(Call& call, DeviceEntry& destination, std::vector<std::string> members) {
  for (const auto& number : devices_of(call)) {
    Device& left = devices_.at(number);
    if (!left.project) left.call = 0;
  }
  call.operator_timer.reset();  // the operators it leaves will not answer it any more
  call.member_timers.clear();
  call.ringing = std::move(members);
  call.device = destination.first;
  // Members are rung in their declared order, so the answer draws follow the group's order.
  for (const auto& member : call.ringing) {
    DeviceEntry& entry = *devices_.find(member);  // check_destination found it
    entry.second.call = call.sequence;
    call.member_timers.push_back(ring_operator(entry));
  }
  if (call.ringing.empty() && !destination.second.project) {
    destination.second.call = call.sequence;
    call.operator_timer = ring_operator(destination);
  }
}

void PbxModel::emit_delivered(const Call& call, const char* cause) {
  for (const auto& device : devices_of(call))
    emit_call_event(sdk::CallEventType::delivered, call, device, device, cause, sdk::ConnectionState::alerting);
}

void PbxModel::deflect(const sdk::CallRef& ref, const std::string& destination, const sdk::Completion& done) {
  Call* found = find_call(ref.call_id);
  if (found == nullptr || found->answered || found->originated || !is_at(*found, ref.device)) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not alerting at " + ref.device));
    return;
  }
  std::vector<std::string> members;
  auto target = check_destination(destination, members);
  if (!target) {
    done(target.error());
    return;
  }
  Call& call = *found;
  if (destination == ref.device || destination == call.device) {
    done(sdk::make_error(sdk::ErrorCode::invalid_argument,
                         "call " + ref.call_id + " already alerts at " + destination));
    return;
  }

  // Every device it rang at is left: ref.device first, then the rest of a ring-all group's members (a copy,
  // as the call rings elsewhere next). Alerting at one device, that device is ref.device.
  std::vector<std::string> left_members;
  if (!call.ringing.empty()) {
    left_members = call.ringing;
    std::stable_partition(left_members.begin(), left_members.end(),
                          [&](const std::string& d) { return d == ref.device; });
  }
  std::span<const std::string> left = left_members;
  if (left.empty()) left = {&ref.device, 1};
  move_call(call, **target, std::move(members));
  call.redirecting = ref.device;
  done(sdk::Status::success());

  for (const auto& device : left)
    emit_call_event(sdk::CallEventType::diverted, call, device, destination, "redirected");
  emit_delivered(call, "redirected");
  for (const auto& number : left)
    if (const Device& device = devices_.at(number); !device.project) emit_device(number, device);
  for (const auto& number : devices_of(call))
    if (const Device& device = devices_.at(number); !device.project) emit_device(number, device);
}

std::unique_ptr<ScheduledTask> PbxModel::ring_operator(DeviceEntry& operator_device) {
  // Both draws are made whatever the outcome, so one operator's choice does not shift the next ones.
  bool answers = behaviour_.chance(settings_.answer_probability);
  auto delay = behaviour_.between(settings_.answer_delay_min, settings_.answer_delay_max);
  if (!answers) return nullptr;
  // The entry, not a copy of the number: this small a capture needs no allocation in std::function.
  return scheduler_.schedule(scaled(delay), [this, ringing = &operator_device] { answer(*ringing); });
}

void PbxModel::answer(DeviceEntry& operator_device) {
  const std::string& device = operator_device.first;
  Call* found = find_call(operator_device.second.call);
  if (found == nullptr || !is_at(*found, device)) return;
  Call& call = *found;
  // Ring-all: the first member to answer takes the call; the others stop ringing.
  std::vector<std::string> others = std::move(call.ringing);  // empty unless it rang at a group
  call.ringing.clear();
  std::erase(others, device);
  for (const auto& member : others) devices_.at(member).call = 0;
  auto answered_timer = std::move(call.member_timers);  // the running task among them dies with this scope
  call.device = device;
  call.answered = true;
  call.caller_timer.reset();
  emit_call_event(sdk::CallEventType::established, call, device, device, "", sdk::ConnectionState::connected);
  emit_device(device, operator_device.second);
  for (const auto& member : others) {
    emit_call_event(sdk::CallEventType::cleared, call, member, member, "normal_clearing");
    emit_device(member);
  }
  call.operator_timer = scheduler_.schedule(scaled(call.talk_time),
                                            [this, sequence = call.sequence] { end_conversation(sequence); });
}

void PbxModel::end_conversation(std::uint64_t sequence) {
  if (Call* call = find_call(sequence)) finish(sequence, call->device);  // finish keeps the call until it returns
}

void PbxModel::caller_hangs_up(std::uint64_t sequence) {
  Call* call = find_call(sequence);
  if (call == nullptr) return;
  finish(sequence, call->caller.empty() ? withheld_releasing_device : call->caller);
}

void PbxModel::transfer(const sdk::CallRef& ref, const std::string& destination, const sdk::Completion& done) {
  Call* found = find_call(ref.call_id);
  if (found == nullptr || !found->answered || found->device != ref.device) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not answered at " + ref.device));
    return;
  }
  if (destination == ref.device) {
    done(sdk::make_error(sdk::ErrorCode::invalid_argument, "call " + ref.call_id + " is already at " + destination));
    return;
  }
  std::vector<std::string> members;
  auto target = check_destination(destination, members);
  if (!target) {
    done(target.error());
    return;
  }

  Call& call = *found;
  call.answered = false;
  call.redirecting = ref.device;
  // Drawn before the destination's answer, as always, so the draws keep their order.
  auto patience = behaviour_.between(settings_.abandon_min, settings_.abandon_max);
  call.caller_timer =
      scheduler_.schedule(scaled(patience), [this, sequence = call.sequence] { caller_hangs_up(sequence); });
  move_call(call, **target, std::move(members));  // the conversation with the old operator is over
  done(sdk::Status::success());

  emit_call_event(sdk::CallEventType::cleared, call, ref.device, ref.device, "transfer");
  emit_delivered(call, "transfer");
  emit_device(ref.device);
  for (const auto& number : devices_of(call))
    if (const Device& device = devices_.at(number); !device.project) emit_device(number, device);
}

void PbxModel::clear(const sdk::CallRef& ref, const sdk::Completion& done) {
  Call* call = find_call(ref.call_id);
  if (call == nullptr || !is_at(*call, ref.device)) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not at " + ref.device));
    return;
  }
  done(sdk::Status::success());
  finish(call->sequence, ref.device);
}

void PbxModel::finish(std::uint64_t sequence, const std::string& releasing) {
  auto node = calls_.extract(sequence);  // its timers are cancelled when `node` goes
  Call& call = node.mapped();
  for (const auto& number : devices_of(call)) {
    emit_call_event(sdk::CallEventType::cleared, call, number, releasing, "normal_clearing");
    Device& device = devices_.at(number);
    if (!device.project) {
      device.call = 0;
      emit_device(number, device);
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
  for (const auto& [sequence, call] : calls_)
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
  if (device.project || device.group || device.call == 0) return sdk::DeviceState::idle;
  const Call& call = calls_.at(device.call);
  return call.answered || call.originated ? sdk::DeviceState::busy : sdk::DeviceState::ringing;
}

void PbxModel::emit_call_event(sdk::CallEventType type, const Call& call, const std::string& device,
                               const std::string& other_device, const char* cause,
                               sdk::ConnectionState local_state) {
  auto make = [&] {
    sdk::Event event{std::in_place_type<sdk::CallEvent>};
    auto& e = std::get<sdk::CallEvent>(event);
    e.type = type;
    e.connection.call_id = call.id;
    e.connection.device = device;
    e.calling = call.caller;
    e.called = call.called;
    e.other_device = other_device;
    e.redirecting = call.redirecting;
    e.cause = cause;
    e.local_state = local_state;
    e.at = scheduler_.now();
    return event;
  };
  sink_(std::ref(make));  // by reference: an EventMaker that holds a reference needs no allocation
}

void PbxModel::emit_device(const std::string& number, const Device& device) {
  auto make = [&] {
    sdk::Event event{std::in_place_type<sdk::DeviceEvent>};
    auto& e = std::get<sdk::DeviceEvent>(event);
    e.device = number;
    e.state = state_of(device);
    e.at = scheduler_.now();
    return event;
  };
  sink_(std::ref(make));
}

}  // namespace switchboard::sim
