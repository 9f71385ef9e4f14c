#include "switchboard/core/alert_rules.hpp"

namespace switchboard::core {

AlertRules::AlertRules(sdk::Context& context, std::vector<AlertTarget> actions, std::chrono::milliseconds min_interval)
    : ctx_(context), actions_(std::move(actions)), min_interval_(min_interval) {}

sdk::ConfigSchema AlertRules::schema() {
  sdk::ConfigSchema s;
  s.add("min_interval", sdk::ValueType::duration).range(0, 86'400'000).default_value("60s")
      .doc("One alert key (a driver's link) is notified at most once per this interval; changes in between are "
           "coalesced, and the state at the end is sent only if it differs from the last one sent.");
  return s;
}

void AlertRules::start(EventHub& events) {
  auto handler = [this](const sdk::Event& e) {
    if (const auto* link = std::get_if<sdk::LinkEvent>(&e)) on_link(*link);
  };
  subscription_ = events.subscribe(ctx_.strand(), std::move(handler), EventHub::Filter::links);
}

void AlertRules::prepare_stop() {
  stopping_ = true;
  subscription_.reset();
  for (auto& [_, s] : keys_) s.pending.reset();
}

void AlertRules::on_link(const sdk::LinkEvent& e) {
  if (stopping_) return;
  auto& s = keys_["link:" + e.driver];
  s.driver = e.driver;
  s.detail = e.detail;
  s.down = !e.up;
  // A link that comes up without ever having been down (start-up) is nothing to tell.
  if (!s.ever_notified && !s.down) return;
  if (s.pending) return;  // the interval's end will send the state then
  auto now = ctx_.clock().steady_now();
  auto wait = s.ever_notified ? s.last_sent + min_interval_ - now : std::chrono::steady_clock::duration::zero();
  if (wait <= std::chrono::steady_clock::duration::zero()) {
    notify(s);
    return;
  }
  std::string key = "link:" + e.driver;
  s.pending = ctx_.call_after(wait, [this, key] {
    auto& st = keys_[key];
    st.pending.reset();
    if (st.down != st.notified_down) notify(st);
  });
}

void AlertRules::notify(KeyState& s) {
  s.notified_down = s.down;
  s.ever_notified = true;
  s.last_sent = ctx_.clock().steady_now();
  sdk::Alert a;
  a.rule = s.down ? "pbx_link_down" : "pbx_link_up";
  a.severity = s.down ? sdk::Severity::critical : sdk::Severity::info;
  a.resolved = !s.down;
  a.summary = s.down ? "PBX link of driver " + s.driver + " is down: " + s.detail
                     : "PBX link of driver " + s.driver + " is up again";
  a.labels["driver"] = s.driver;
  a.dedup_key = "link:" + s.driver;
  a.at = ctx_.clock().now();
  fire(a);
}

void AlertRules::fire(const sdk::Alert& alert) {
  ctx_.logger().log(alert.resolved ? sdk::LogLevel::info : sdk::LogLevel::error, "{} driver={} actions={}", alert.rule,
                    alert.labels.at("driver"), actions_.size());
  for (const auto& t : actions_) {
    auto done = ctx_.on_strand([this, name = t.name, rule = alert.rule](sdk::Status s) {
      if (!s.ok()) ctx_.logger().warn("alert action failed action={} rule={} error=\"{}\"", name, rule, s.error().message);
    });
    sdk::asio::post(*t.strand, [action = t.action, alert, done = std::move(done)]() mutable {
      action->fire(alert, std::move(done));
    });
  }
}

}  // namespace switchboard::core
