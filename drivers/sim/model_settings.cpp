#include "model_settings.hpp"

#include <array>
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
  return m;
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
