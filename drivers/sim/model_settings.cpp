#include "model_settings.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <utility>

namespace switchboard::sim {

namespace {
// The pairs of keys that bound one random duration.
constexpr std::array<std::pair<const char*, const char*>, 3> duration_ranges{{
    {"answer_delay_min", "answer_delay_max"},
    {"talk_time_min", "talk_time_max"},
    {"abandon_min", "abandon_max"},
}};
sdk::ConfigSchema dial_schema() {
  using sdk::ValueType;
  sdk::ConfigSchema s;
  s.add("after", ValueType::duration).min(0).required()
      .doc("When the operator dials, counted from the start of the simulation (divided by speed like every "
           "duration).");
  s.add("from", ValueType::string).required()
      .doc("The operator extension that dials; an operator that is logged out or has a call then does not dial.");
  s.add("number", ValueType::string).required().doc("What it dials, e.g. a hunt group's join or leave code.");
  return s;
}

sdk::ConfigSchema hunt_group_schema() {
  using sdk::ValueType;
  sdk::ConfigSchema s;
  s.add("number", ValueType::string).required().doc("The hunt group's number: a call deflected to it rings its members.");
  s.add("members", sdk::TypeSpec::list_of(sdk::TypeSpec::of(ValueType::string))).semicolon_string().required()
      .doc("The member extensions, in order; all start joined.");
  s.add("group", ValueType::string)
      .doc("The group whose agent state the members' joining and leaving follows, when the call engine names "
           "another number than the hunt group's: an sa_group strategy's group `number` for the hunt group that "
           "is its `pbx_number`. Default: the hunt group's own number.");
  return s;
}

}  // namespace

void add_model_keys(sdk::ConfigSchema& s) {
  using sdk::ValueType;
  s.add("seed", ValueType::integer).min(0).default_value(1)
      .doc("Seed of the simulation: the same seed and the same requests give the same calls and events.");
  s.add("speed", ValueType::number).min(0).default_value("1.0")
      .doc("How many times faster than its clock the simulated PBX runs; every duration is divided by it "
           "(2.0: twice as fast). Must be greater than 0.");
  s.add("calls_per_minute", ValueType::number).min(0).default_value("20")
      .doc("Mean rate of new calls, with exponential gaps between arrivals; 0: no calls arrive by themselves.");
  s.add("max_calls", ValueType::integer).min(0).default_value(0)
      .doc("No more calls arrive after this many; 0: unlimited.");
  s.add("known_callers", ValueType::number).range(0, 1).default_value("0.75")
      .doc("Share of calls that come from a known customer's number (when any is known). A customer who "
           "belongs to a project calls that project.");
  s.add("withheld_callers", ValueType::number).range(0, 1).default_value("0.05")
      .doc("Share of calls without a caller number. The rest come from unknown Czech mobile numbers, with the "
           "PBX's exit code 0 in front (0602123456). known_callers + withheld_callers must not exceed 1.");
  s.add("answer_probability", ValueType::number).range(0, 1).default_value("0.85")
      .doc("Chance that an operator answers a call that rings at the extension; otherwise it rings until it "
           "is deflected elsewhere or the caller hangs up.");
  s.add("answer_delay_min", ValueType::duration).min(0).default_value("2s")
      .doc("Shortest time an operator lets a call ring before answering.");
  s.add("answer_delay_max", ValueType::duration).min(0).default_value("8s")
      .doc("Longest time an operator lets a call ring before answering.");
  s.add("talk_time_min", ValueType::duration).min(0).default_value("20s")
      .doc("Shortest conversation; the operator then hangs up.");
  s.add("talk_time_max", ValueType::duration).min(0).default_value("180s")
      .doc("Longest conversation.");
  s.add("abandon_min", ValueType::duration).min(0).default_value("15s")
      .doc("Shortest time a caller waits, counted from the call's arrival, before hanging up an unanswered call.");
  s.add("abandon_max", ValueType::duration).min(0).default_value("60s")
      .doc("Longest time a caller waits before hanging up an unanswered call.");
  s.add("offline_operators", ValueType::number).range(0, 1).default_value("0.1")
      .doc("Share of the operator extensions that are logged out from the start (rounded to the nearest whole "
           "operator); deflecting to them fails as unavailable.");
  s.add("dials", sdk::TypeSpec::list_of(sdk::TypeSpec::object_of(dial_schema())))
      .doc("Operators who dial during the simulation, {after, from, number} each, e.g. a hunt group's join "
           "code: the PBX reports an OriginatedEvent at `from`, which stays busy until the call is cleared "
           "there. Counted again from every start.");
}

PbxModelSettings model_settings(const sdk::Settings& s) {
  PbxModelSettings m;
  m.seed = static_cast<std::uint64_t>(s.integer("seed"));
  m.speed = s.number("speed");
  m.calls_per_minute = s.number("calls_per_minute");
  m.max_calls = static_cast<std::uint64_t>(s.integer("max_calls"));
  m.known_callers = s.number("known_callers");
  m.withheld_callers = s.number("withheld_callers");
  m.answer_probability = s.number("answer_probability");
  m.answer_delay_min = s.duration("answer_delay_min");
  m.answer_delay_max = s.duration("answer_delay_max");
  m.talk_time_min = s.duration("talk_time_min");
  m.talk_time_max = s.duration("talk_time_max");
  m.abandon_min = s.duration("abandon_min");
  m.abandon_max = s.duration("abandon_max");
  m.offline_operators = s.number("offline_operators");
  for (const auto* dial : s.objects("dials"))
    m.dials.push_back({dial->duration("after"), dial->string("from"), dial->string("number")});
  return m;
}

sdk::TypeSpec hunt_groups_type() { return sdk::TypeSpec::list_of(sdk::TypeSpec::object_of(hunt_group_schema())); }

std::vector<HuntGroupSpec> hunt_groups(const sdk::Settings& settings, std::string_view key) {
  std::vector<HuntGroupSpec> out;
  for (const auto* group : settings.objects(key))
    out.push_back({group->string("number"), group->strings("members"), group->string_or("group", "")});
  return out;
}

std::vector<std::string> hunt_groups_following(const std::vector<HuntGroupSpec>& groups, const std::string& group) {
  std::vector<std::string> out;
  for (const auto& spec : groups)
    if (spec.number == group || spec.group == group) out.push_back(spec.number);
  return out;
}

void check_hunt_groups(const sdk::Settings& settings, std::string_view key, sdk::Diagnostics& diag) {
  std::map<std::string, std::size_t> seen;  // number -> its index
  const auto groups = settings.objects(key);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const auto& group = *groups[i];
    const auto& number = group.string("number");
    if (number.empty()) diag.error(group, "number", "must not be empty");
    if (auto [it, fresh] = seen.emplace(number, i); !fresh && !number.empty())
      diag.error(group, "number", "'" + number + "' is already the number of " + std::string(key) + "[" +
                                      std::to_string(it->second) + "]");
    auto members = group.strings("members");
    for (std::size_t m = 0; m < members.size(); ++m)
      if (members[m].empty() || members[m] == number ||
          std::find(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(m), members[m]) !=
              members.begin() + static_cast<std::ptrdiff_t>(m))
        diag.error(group, "members", "'" + members[m] + "' is empty, the group itself or given twice");
  }
}

void check_model_settings(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  if (settings.number("speed") <= 0) diag.error(settings, "speed", "must be greater than 0");
  if (settings.number("known_callers") + settings.number("withheld_callers") > 1)
    diag.error(settings, "withheld_callers", "known_callers + withheld_callers must not exceed 1");
  for (const auto& [low, high] : duration_ranges)
    if (settings.duration(low) > settings.duration(high))
      diag.error(settings, low, std::string("must not exceed ") + high);
}

}  // namespace switchboard::sim
