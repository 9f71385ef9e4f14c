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
    device.offline = false;
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
  if (it == devices_.end() || it->second.project || !it->second.call.empty()) return false;
  if (it->second.offline != logged_in) return true;
  it->second.offline = !logged_in;
  emit_device(number);
  return true;
}

void PbxModel::start() {
  if (running_) return;
  running_ = true;
  schedule_arrival();
}

void PbxModel::stop() {
  running_ = false;
  arrival_timer_.reset();
  calls_.clear();  // their timers are cancelled with them
  for (auto& [number, device] : devices_) device.call.clear();
}

std::vector<std::string> PbxModel::operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project) out.push_back(number);
  return out;
}

std::vector<std::string> PbxModel::offline_operators() const {
  std::vector<std::string> out;
  for (const auto& [number, device] : devices_)
    if (!device.project && device.offline) out.push_back(number);
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

void PbxModel::deflect(const sdk::CallRef& ref, const std::string& destination, const sdk::Completion& done) {
  auto call_it = calls_.find(ref.call_id);
  if (call_it == calls_.end() || call_it->second.answered || call_it->second.device != ref.device) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not alerting at " + ref.device));
    return;
  }
  auto target = devices_.find(destination);
  if (target == devices_.end()) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "no extension " + destination));
    return;
  }
  if (target->second.offline) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "extension " + destination + " is logged out"));
    return;
  }
  if (!target->second.project && !target->second.call.empty()) {
    done(sdk::make_error(sdk::ErrorCode::busy, "extension " + destination + " is " +
                                                   (calls_.at(target->second.call).answered ? "busy" : "ringing")));
    return;
  }
  if (destination == ref.device) {
    done(sdk::make_error(sdk::ErrorCode::invalid_argument,
                         "call " + ref.call_id + " already alerts at " + destination));
    return;
  }

  Call& call = call_it->second;
  Device& from = devices_.at(ref.device);
  if (!from.project) from.call.clear();
  call.operator_timer.reset();  // the operator it leaves will not answer it any more
  call.device = destination;
  call.redirecting = ref.device;
  if (!target->second.project) {
    target->second.call = call.id;
    ring_operator(call);
  }
  done(sdk::Status::success());

  auto diverted = call_event(sdk::CallEventType::diverted, call, ref.device);
  diverted.other_device = destination;
  diverted.cause = "redirected";
  sink_(std::move(diverted));
  auto delivered = call_event(sdk::CallEventType::delivered, call, destination);
  delivered.other_device = destination;
  delivered.cause = "redirected";
  delivered.local_state = sdk::ConnectionState::alerting;
  sink_(std::move(delivered));
  if (!from.project) emit_device(ref.device);
  if (!target->second.project) emit_device(destination);
}

void PbxModel::ring_operator(Call& call) {
  // Both draws are made whatever the outcome, so one operator's choice does not shift the next ones.
  bool answers = behaviour_.chance(settings_.answer_probability);
  auto delay = behaviour_.between(settings_.answer_delay_min, settings_.answer_delay_max);
  if (answers) call.operator_timer = scheduler_.schedule(scaled(delay), [this, id = call.id] { answer(id); });
}

void PbxModel::answer(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  Call& call = it->second;
  call.answered = true;
  call.caller_timer.reset();
  auto established = call_event(sdk::CallEventType::established, call, call.device);
  established.other_device = call.device;
  established.local_state = sdk::ConnectionState::connected;
  sink_(std::move(established));
  emit_device(call.device);
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
  auto target_it = devices_.find(destination);
  if (target_it == devices_.end()) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "no extension " + destination));
    return;
  }
  Device& target = target_it->second;
  if (target.offline) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "extension " + destination + " is logged out"));
    return;
  }
  if (!target.project && !target.call.empty()) {
    done(sdk::make_error(sdk::ErrorCode::busy, "extension " + destination + " is " +
                                                   (calls_.at(target.call).answered ? "busy" : "ringing")));
    return;
  }

  Call& call = call_it->second;
  Device& from = devices_.at(ref.device);  // an operator: only operators answer
  from.call.clear();
  call.operator_timer.reset();  // the conversation with the old operator is over
  call.answered = false;
  call.device = destination;
  call.redirecting = ref.device;
  auto patience = behaviour_.between(settings_.abandon_min, settings_.abandon_max);
  call.caller_timer = scheduler_.schedule(scaled(patience), [this, id = call.id] { caller_hangs_up(id); });
  if (!target.project) {
    target.call = call.id;
    ring_operator(call);
  }
  done(sdk::Status::success());

  auto cleared = call_event(sdk::CallEventType::cleared, call, ref.device);
  cleared.other_device = ref.device;
  cleared.cause = "transfer";
  sink_(std::move(cleared));
  auto delivered = call_event(sdk::CallEventType::delivered, call, destination);
  delivered.other_device = destination;
  delivered.cause = "transfer";
  delivered.local_state = sdk::ConnectionState::alerting;
  sink_(std::move(delivered));
  emit_device(ref.device);
  if (!target.project) emit_device(destination);
}

void PbxModel::clear(const sdk::CallRef& ref, const sdk::Completion& done) {
  auto it = calls_.find(ref.call_id);
  if (it == calls_.end() || it->second.device != ref.device) {
    done(sdk::make_error(sdk::ErrorCode::refused, "call " + ref.call_id + " is not at " + ref.device));
    return;
  }
  done(sdk::Status::success());
  finish(ref.call_id, ref.device);
}

void PbxModel::finish(const std::string& call_id, const std::string& releasing) {
  auto node = calls_.extract(call_id);  // its timers are cancelled when `node` goes
  Call& call = node.mapped();
  auto cleared = call_event(sdk::CallEventType::cleared, call, call.device);
  cleared.other_device = releasing;
  cleared.cause = "normal_clearing";
  sink_(std::move(cleared));
  Device& device = devices_.at(call.device);
  if (!device.project) {
    device.call.clear();
    emit_device(call.device);
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
    if (call.device == number) here.push_back(&call);
  std::sort(here.begin(), here.end(), [](const Call* a, const Call* b) { return a->sequence < b->sequence; });
  for (const Call* call : here) {
    snapshot.calls.push_back({call->id, number});
    snapshot.states.push_back(call->answered ? sdk::ConnectionState::connected : sdk::ConnectionState::alerting);
  }
  return snapshot;
}

sdk::DeviceState PbxModel::state_of(const Device& device) const {
  if (device.offline) return sdk::DeviceState::offline;
  if (device.project || device.call.empty()) return sdk::DeviceState::idle;
  return calls_.at(device.call).answered ? sdk::DeviceState::busy : sdk::DeviceState::ringing;
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
