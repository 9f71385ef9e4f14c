#include "load_recorder.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace switchboard::pbxsim {
namespace {

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double micros(LoadRecorder::Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

LoadReport::Latency percentiles(std::vector<double>& values) {
  std::sort(values.begin(), values.end());
  return {percentile(values, 0.50), percentile(values, 0.90), percentile(values, 0.99), percentile(values, 0.999),
          values.empty() ? 0 : values.back()};
}

nlohmann::ordered_json to_json(const LoadReport::Latency& latency) {
  return {{"p50", latency.p50},
          {"p90", latency.p90},
          {"p99", latency.p99},
          {"p99_9", latency.p99_9},
          {"max", latency.max}};
}

}  // namespace

LoadRecorder::LoadRecorder(std::uint64_t calls) {
  calls_.reserve(calls);
  index_by_call_id_.reserve(calls);
}

std::uint32_t LoadRecorder::add(std::string project, Clock::time_point scheduled_at, Clock::time_point offered_at) {
  Call call;
  call.project = std::move(project);
  call.scheduled_at = scheduled_at;
  call.offered_at = offered_at;
  calls_.push_back(std::move(call));
  return static_cast<std::uint32_t>(calls_.size() - 1);
}

void LoadRecorder::bind(std::uint32_t index, const std::string& call_id) {
  calls_[index].call_id = call_id;
  index_by_call_id_.emplace(call_id, index);
}

std::optional<std::uint32_t> LoadRecorder::find(std::string_view call_id) const {
  auto it = index_by_call_id_.find(std::string(call_id));
  if (it == index_by_call_id_.end()) return std::nullopt;
  return it->second;
}

void LoadRecorder::written(std::uint32_t index, Clock::time_point at) {
  auto& call = calls_[index];
  if (call.written_at == Clock::time_point{}) call.written_at = at;
}

void LoadRecorder::routed(std::uint32_t index, Clock::time_point received_at) {
  auto& call = calls_[index];
  if (call.state != State::pending) return;
  call.state = State::routed;
  call.routed_at = received_at;
  ++decided_;
}

void LoadRecorder::expire(Clock::time_point deadline, const std::function<void(std::uint32_t)>& expired) {
  while (oldest_pending_ < calls_.size()) {
    auto& call = calls_[oldest_pending_];
    if (call.state == State::pending) {
      if (call.offered_at >= deadline) return;
      call.state = State::failed;
      ++decided_;
      expired(static_cast<std::uint32_t>(oldest_pending_));
    }
    ++oldest_pending_;
  }
}

LoadReport LoadRecorder::report(Clock::time_point end, double requested_rate) const {
  LoadReport report;
  report.offered = calls_.size();
  report.error_answers = error_answers_;
  report.requested_rate = requested_rate;
  std::vector<double> latencies;
  std::vector<double> write_latencies;
  std::vector<double> send_lags;
  latencies.reserve(calls_.size());
  write_latencies.reserve(calls_.size());
  send_lags.reserve(calls_.size());
  for (const auto& call : calls_) {
    if (call.state != State::routed) continue;
    // A call the client learnt of while pbxsim was silent has no written time: count from its offer.
    auto announced = call.written_at == Clock::time_point{} ? call.offered_at : call.written_at;
    latencies.push_back(std::max(0.0, micros(call.routed_at - call.scheduled_at)));
    write_latencies.push_back(std::max(0.0, micros(call.routed_at - announced)));
    send_lags.push_back(std::max(0.0, micros(announced - call.scheduled_at)));
  }
  report.routed = latencies.size();
  report.errors = report.offered - report.routed;
  if (!calls_.empty()) report.seconds = std::chrono::duration<double>(end - calls_.front().offered_at).count();
  if (report.seconds > 0) report.rate = static_cast<double>(report.routed) / report.seconds;
  report.latency_us = percentiles(latencies);
  report.write_latency_us = percentiles(write_latencies);
  report.send_lag_us = percentiles(send_lags);
  return report;
}

std::string LoadReport::to_json() const {
  nlohmann::ordered_json json{
      {"offered", offered},
      {"routed", routed},
      {"errors", errors},
      {"seconds", seconds},
      {"rate", rate},
      {"latency_us", pbxsim::to_json(latency_us)},
      {"requested_rate", requested_rate},
      {"error_answers", error_answers},
      {"write_latency_us", pbxsim::to_json(write_latency_us)},
      {"send_lag_us", pbxsim::to_json(send_lag_us)},
  };
  return json.dump() + "\n";
}

std::string LoadReport::summary() const {
  return fmt::format(
      "load: offered {} routed {} errors {} (error answers {}) in {:.3f} s: {:.0f} calls/s routed, {:.0f}/s "
      "requested\n"
      "latency from the scheduled send time to routing request received: p50 {:.0f} us, p90 {:.0f} us, "
      "p99 {:.0f} us, p99.9 {:.0f} us, max {:.0f} us\n"
      "latency from Delivered written to routing request received: p50 {:.0f} us, p99 {:.0f} us, p99.9 {:.0f} us, "
      "max {:.0f} us; send lag (scheduled to written): p99 {:.0f} us, max {:.0f} us\n",
      offered, routed, errors, error_answers, seconds, rate, requested_rate, latency_us.p50, latency_us.p90,
      latency_us.p99, latency_us.p99_9, latency_us.max, write_latency_us.p50, write_latency_us.p99,
      write_latency_us.p99_9, write_latency_us.max, send_lag_us.p99, send_lag_us.max);
}

}  // namespace switchboard::pbxsim
