#include "sa_group.hpp"

#include <algorithm>
#include <cctype>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "membership_file.hpp"

namespace switchboard::plugins {

namespace {

// The outcome codes this strategy writes (ours, after the original's 1-10; the engine adds 11 and 12).
constexpr sdk::OutcomeCode member_outcome = 20;
constexpr sdk::OutcomeCode overflow_target_outcome = 21;
constexpr sdk::OutcomeCode overflow_cleared_outcome = 22;
constexpr sdk::OutcomeCode nobody_answered_outcome = 9;

// Calls whose end never reached us are forgotten after this, so the bookkeeping cannot grow without end.
constexpr std::chrono::hours forget_calls_after{24};

constexpr const char* distribution_names[] = {"linear", "round_robin", "longest_idle", "ring_all"};

void append_unique(std::vector<std::string>& list, const std::string& value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

// "1 earlier call", "2 earlier calls"
std::string count_of(std::size_t n, std::string_view thing) {
  return fmt::format("{} {}{}", n, thing, n == 1 ? "" : "s");
}

// Whole seconds, rounded up: "in wrap-up for 1s more" until it has really ended.
long long seconds_up(std::chrono::steady_clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms <= 0 ? 0 : (ms + 999) / 1000;
}

// Extensions sort as numbers of any length: 99 before 100.
bool extension_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::string joined_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void require_extension(const sdk::Settings& settings, std::string_view key, std::string_view what,
                       sdk::Diagnostics& diag) {
  if (!settings.has(key)) return;
  const std::string& value = settings.string(key);
  if (!sdk::is_digits(value))
    diag.error(settings, key, fmt::format("{} '{}' is not an extension: digits only", what, value));
}

}  // namespace

struct SaGroupStrategy::Lifetime {
  SaGroupStrategy* self;
};

// ----- configuration -------------------------------------------------------------------------------

sdk::ConfigSchema SaGroupStrategy::schema() {
  sdk::ConfigSchema overflow;
  overflow.add("action", sdk::TypeSpec::enum_of({"target", "clear"}))
      .default_value("clear")
      .doc("What happens to a call when the group's queue is full (`capacity` calls wait) or no member has joined: "
           "`target` offers it to `target` (outcome 21 if answered there), `clear` ends it (outcome 22).");
  overflow.add("target", sdk::ValueType::string)
      .doc("The extension that takes overflowing calls (digits); required for `action: target`.");

  sdk::ConfigSchema group;
  group.add("number", sdk::ValueType::string)
      .required()
      .doc("The group's number, which customers dial (digits): in the PBX a physical or fictitious extension "
           "(seed 3.1).");
  group.add("name", sdk::ValueType::string).doc("The group's label, shown to its members (seed 3.1).");
  group.add("capacity", sdk::ValueType::integer)
      .range(0, 10'000)
      .default_value(0)
      .doc("How many calls may wait in the group's queue while no member is free (seed 3.1); 0: none waits, a "
           "call nobody can take at once overflows.");
  group.add("members", sdk::TypeSpec::list_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .semicolon_string()
      .doc("The members' extensions, in the order `linear` tries them. Agents of `storage` with the call module "
           "on and this group's number are members too, after these (seed 4.1). Also \"101;102;\".");
  group.add("distribution", sdk::TypeSpec::enum_of({"linear", "round_robin", "longest_idle", "ring_all"}))
      .default_value("linear")
      .doc("How a call picks among the free members: `linear` in member order; `round_robin` in member order, "
           "starting after the member offered first last time; `longest_idle` the longest idle first; `ring_all` "
           "every joined member at once, through the PBX hunt group `pbx_number`.");
  group.add("pbx_number", sdk::ValueType::string)
      .doc("The PBX hunt group, in ring-all mode, that rings every joined member at once (digits): only the PBX "
           "rings several phones for one call. Switchboard keeps its membership in step with joins and leaves. "
           "Required for `distribution: ring_all`.");
  group.add("ring_timeout", sdk::ValueType::duration)
      .range(1'000, 600'000)
      .default_value("20s")
      .doc("How long a member may ring before the engine moves on to the next one.");
  group.add("wrapup", sdk::ValueType::duration)
      .range(0, 3'600'000)
      .default_value("0s")
      .doc("After a group call ends, how long the member who took it gets no further group calls.");
  group.add("overflow", sdk::TypeSpec::object_of(std::move(overflow)))
      .doc("Where a call goes when the queue is full or nobody has joined; by default it is ended (outcome 22).");
  group.add("unanswered", sdk::TypeSpec::object_of(sdk::unanswered_policy_schema()))
      .doc("The unanswered-call policy of the group (seed section 3); none when absent.");

  sdk::ConfigSchema s;
  s.add("storage", sdk::TypeSpec::reference_to(sdk::Category::storage))
      .doc("The storage instance whose lookup-only rules name the customer (the core indexes them) and whose "
           "agents with the call module on join the group they name. Without it, only the listed members.");
  s.add("join_code", sdk::ValueType::string)
      .default_value("401")
      .doc("The dial code a member dials to join its groups (the PBX's SAESPR code, seed 6.1); digits.");
  s.add("leave_code", sdk::ValueType::string)
      .default_value("402")
      .doc("The dial code a member dials to leave its groups (the PBX's SAASPR code, seed 6.1); digits.");
  s.add("groups", sdk::TypeSpec::list_of(sdk::TypeSpec::object_of(std::move(group))))
      .doc("The SA (hunt) groups this strategy routes; at least one.");
  s.add("start_joined", sdk::ValueType::boolean)
      .default_value(true)
      .doc("Whether members take calls from the start; `false`: each member joins with `join_code` first. A "
           "member named in `state_file` keeps its state from there.");
  s.add("state_file", sdk::ValueType::string)
      .doc("A file that keeps who has joined or left which group across restarts, rewritten (a temporary file "
           "renamed over it) on every change and read at start. A relative path is taken from the host's working "
           "directory, as for the other file keys; a missing folder is created.");
  return s;
}

void SaGroupStrategy::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  const std::string& join_code = settings.string("join_code");
  const std::string& leave_code = settings.string("leave_code");
  require_extension(settings, "join_code", "join code", diag);
  require_extension(settings, "leave_code", "leave code", diag);
  if (join_code == leave_code)
    diag.error(settings, "leave_code", "leave code " + leave_code + " equals the join code: a member could not leave");
  if (settings.has("state_file") && settings.string("state_file").empty())
    diag.error(settings, "state_file", "state_file is empty: give a file name or leave the key out");

  auto groups = settings.objects("groups");
  if (groups.empty())
    diag.error(settings, "groups", "at least one group is needed: the strategy routes only its groups' calls");
  std::vector<std::string> seen;
  for (const sdk::Settings* group : groups) {
    const std::string& number = group->string("number");
    if (!sdk::is_digits(number))
      diag.error(*group, "number", "group number '" + number + "' is not an extension: digits only");
    else if (std::find(seen.begin(), seen.end(), number) != seen.end())
      diag.error(*group, "number", "group " + number + " is listed twice; each group number appears once");
    else if (number == join_code || number == leave_code)
      diag.error(*group, "number", "group number " + number + " is also the join or leave code");
    seen.push_back(number);

    if (group->has("members")) {
      std::vector<std::string> members;
      for (const auto& item : group->value("members").items) {
        if (!sdk::is_digits(item.text))
          diag.error(item.position, item.path, "member '" + item.text + "' is not an extension: digits only");
        else if (std::find(members.begin(), members.end(), item.text) != members.end())
          diag.error(item.position, item.path, "member " + item.text + " is listed twice in group " + number);
        members.push_back(item.text);
      }
    }

    require_extension(*group, "pbx_number", "pbx_number", diag);
    if (group->string("distribution") == "ring_all" && !group->has("pbx_number"))
      diag.error(*group, "distribution",
                 "ring_all needs pbx_number: the PBX hunt group that rings every joined member at once (a deflect "
                 "reaches one phone only)");

    const sdk::Settings& overflow = group->object("overflow");
    require_extension(overflow, "target", "overflow target", diag);
    if (overflow.string("action") == "target" && !overflow.has("target"))
      diag.error(overflow, "action", "overflow action target needs overflow.target, the extension that takes the call");

    if (group->has("unanswered")) sdk::check_unanswered_policy(group->object("unanswered"), diag);
  }
}

SaGroupStrategy::SaGroupStrategy(sdk::Context& context, const sdk::Settings& settings)
    : context_(context),
      join_code_(settings.string("join_code")),
      leave_code_(settings.string("leave_code")),
      start_joined_(settings.boolean("start_joined")),
      storage_name_(settings.string_or("storage", "")),
      state_file_(settings.string_or("state_file", "")),
      lifetime_(std::make_shared<Lifetime>(Lifetime{this})) {
  for (const sdk::Settings* config : settings.objects("groups")) {
    Group group;
    group.number = config->string("number");
    group.name = config->string_or("name", "");
    group.capacity = static_cast<int>(config->integer("capacity"));
    const std::string& distribution = config->string("distribution");
    for (std::size_t i = 0; i < std::size(distribution_names); ++i)
      if (distribution == distribution_names[i]) group.distribution = static_cast<Distribution>(i);
    group.pbx_number = config->string_or("pbx_number", "");
    group.ring_timeout = config->duration("ring_timeout");
    group.wrapup = config->duration("wrapup");
    const sdk::Settings& overflow = config->object("overflow");
    group.overflow_to_target = overflow.string("action") == "target";
    group.overflow_target = overflow.string_or("target", "");
    if (config->has("unanswered")) group.unanswered = sdk::unanswered_policy_from(config->object("unanswered"));
    group.configured_members = config->strings("members");
    for (const auto& extension : group.configured_members) group.members.push_back(Member{extension, start_joined_});
    numbers_.push_back(group.number);
    groups_.push_back(std::move(group));
  }
  for (const auto& group : groups_) {
    for (const auto& member : group.members) append_unique(devices_, member.extension);
    append_unique(devices_, group.pbx_number);
    if (group.overflow_to_target) append_unique(devices_, group.overflow_target);
  }
}

SaGroupStrategy::~SaGroupStrategy() { lifetime_.reset(); }

SaGroupStrategy::Group* SaGroupStrategy::group_numbered(std::string_view number) {
  for (auto& group : groups_)
    if (group.number == number) return &group;
  return nullptr;
}

const SaGroupStrategy::Group* SaGroupStrategy::group_numbered(std::string_view number) const {
  for (const auto& group : groups_)
    if (group.number == number) return &group;
  return nullptr;
}

// ----- lifecycle -----------------------------------------------------------------------------------

void SaGroupStrategy::start(sdk::Completion done) {
  switch (phase_) {
    case Phase::started:
    case Phase::failed: done(start_result_); return;
    case Phase::starting: start_waiters_.push_back(std::move(done)); return;
    case Phase::stopping:
    case Phase::stopped: done(sdk::make_error(sdk::ErrorCode::cancelled, "the sa_group strategy is stopped")); return;
    case Phase::created: break;
  }
  phase_ = Phase::starting;
  start_waiters_.push_back(std::move(done));
  if (!state_file_.empty())
    read_state_file();
  else
    load_storage_members();
}

void SaGroupStrategy::read_state_file() {
  std::weak_ptr<Lifetime> alive = lifetime_;
  context_.offload([path = state_file_] { return sa_group::read_membership(path); },
                   [alive](std::variant<sa_group::MembershipRead, std::string> read) {
                     auto lifetime = alive.lock();
                     if (!lifetime || lifetime->self->phase_ != Phase::starting) return;
                     SaGroupStrategy& self = *lifetime->self;
                     if (auto* error = std::get_if<std::string>(&read)) {
                       self.finish_start(sdk::make_error(sdk::ErrorCode::failed, "state_file: " + *error));
                       return;
                     }
                     auto& membership = std::get<sa_group::MembershipRead>(read);
                     for (const auto& line : membership.skipped)
                       self.context_.logger().warn("state file {} {}: ignored", self.state_file_, line);
                     self.saved_membership_ = std::move(membership.membership);
                     self.load_storage_members();
                   });
}

void SaGroupStrategy::load_storage_members() {
  if (storage_name_.empty()) {
    finish_start({});
    return;
  }
  sdk::InstanceRef ref = context_.instance(sdk::Category::storage, storage_name_);
  auto* storage = ref ? dynamic_cast<sdk::Storage*>(ref.instance) : nullptr;
  if (!storage || !ref.strand) {
    finish_start(sdk::make_error(sdk::ErrorCode::unavailable,
                                 "storage '" + storage_name_ + "' is not available: the SA groups load their members "
                                 "(agents with the call module on) from it"));
    return;
  }
  std::weak_ptr<Lifetime> alive = lifetime_;
  auto loaded = context_.on_strand([alive](sdk::Result<std::vector<sdk::Agent>> agents) {
    auto lifetime = alive.lock();
    if (!lifetime || lifetime->self->phase_ != Phase::starting) return;
    SaGroupStrategy& self = *lifetime->self;
    if (!agents.ok()) {
      self.finish_start(sdk::make_error(agents.error().code, "cannot load the SA group members from storage '" +
                                                                 self.storage_name_ + "': " + agents.error().message));
      return;
    }
    self.merge_storage_members(*agents);
    self.finish_start({});
  });
  sdk::asio::post(*ref.strand, [storage, loaded = std::move(loaded)]() mutable { storage->load_agents(std::move(loaded)); });
}

void SaGroupStrategy::merge_storage_members(const std::vector<sdk::Agent>& agents) {
  for (auto& group : groups_) {
    std::vector<std::string> added;
    for (const auto& agent : agents) {
      if (!agent.call_module || agent.group != group.number) continue;
      if (!sdk::is_digits(agent.extension)) {
        context_.logger().warn("agent {} of SA group {} has no usable extension ('{}'): not a member", agent.name,
                               group.number, agent.extension);
        continue;
      }
      bool known = std::any_of(group.members.begin(), group.members.end(),
                               [&](const Member& m) { return m.extension == agent.extension; });
      if (!known) append_unique(added, agent.extension);
    }
    // The storage's order is unspecified: sorted, the members' order (and so `linear`) is the same every start.
    std::sort(added.begin(), added.end(), extension_less);
    for (auto& extension : added) group.members.push_back(Member{std::move(extension), start_joined_});
    if (!added.empty())
      context_.logger().info("SA group {}: {} from storage '{}'", group.number, count_of(added.size(), "member"),
                             storage_name_);
  }
}

void SaGroupStrategy::apply_saved_membership() {
  for (auto& group : groups_)
    for (auto& member : group.members) {
      auto saved = saved_membership_.find({group.number, member.extension});
      if (saved != saved_membership_.end()) member.joined = saved->second;
    }
  saved_membership_.clear();
}

void SaGroupStrategy::finish_start(sdk::Status status) {
  if (status.ok()) {
    apply_saved_membership();
    for (const auto& group : groups_)
      for (const auto& member : group.members) append_unique(devices_, member.extension);
  }
  phase_ = status.ok() ? Phase::started : Phase::failed;
  start_result_ = status;
  auto waiters = std::move(start_waiters_);
  start_waiters_.clear();
  for (auto& done : waiters) done(status);
}

void SaGroupStrategy::stop(sdk::Completion done) {
  if (phase_ == Phase::stopped) {
    done({});
    return;
  }
  stop_waiters_.push_back(std::move(done));
  if (phase_ == Phase::stopping) return;
  if (phase_ == Phase::starting) {
    auto waiters = std::move(start_waiters_);
    start_waiters_.clear();
    for (auto& waiter : waiters) waiter(sdk::make_error(sdk::ErrorCode::cancelled, "stopped while starting"));
  }
  phase_ = Phase::stopping;
  if (!writing_state_) state_written();
}

// ----- the state file ------------------------------------------------------------------------------

void SaGroupStrategy::save_membership() {
  // Before start() has read the file, writing would replace what it holds.
  if (state_file_.empty() || (phase_ != Phase::started && phase_ != Phase::stopping)) return;
  state_dirty_ = true;
  if (!writing_state_) write_next_state();
}

void SaGroupStrategy::write_next_state() {
  sa_group::Membership membership;
  for (const auto& group : groups_)
    for (const auto& member : group.members) membership[{group.number, member.extension}] = member.joined;
  writing_state_ = true;
  state_dirty_ = false;
  std::weak_ptr<Lifetime> alive = lifetime_;
  // One write at a time, so an older state can never be renamed over a newer one.
  context_.offload(
      [path = state_file_, content = sa_group::format_membership(membership)] {
        return sa_group::write_file_replacing(path, content);
      },
      [alive](std::string error) {
        auto lifetime = alive.lock();
        if (!lifetime) return;
        if (!error.empty()) lifetime->self->context_.logger().error("SA group membership not saved: {}", error);
        lifetime->self->state_written();
      });
}

void SaGroupStrategy::state_written() {
  writing_state_ = false;
  if (state_dirty_) {
    write_next_state();
    return;
  }
  if (phase_ != Phase::stopping) return;
  phase_ = Phase::stopped;
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& done : waiters) done({});
}

// ----- deciding ------------------------------------------------------------------------------------

// Which members may take a call now: joined, free in the engine's view, not in wrap-up, not holding an
// offer of another call. Writes a trail line for each member that may not.
class SaGroupStrategy::MemberCheck {
 public:
  MemberCheck(const SaGroupStrategy& strategy, const Group& group, const std::string& call_id,
              const sdk::DeviceView& devices, SteadyTime now, std::vector<std::string>& trail) {
    for (const auto& member : group.members) {
      const std::string& extension = member.extension;
      if (!member.joined) {
        trail.push_back(fmt::format("member {} not joined", extension));
        continue;
      }
      ++joined;
      if (auto why = sdk::why_unavailable(devices.state(extension))) {
        trail.push_back(fmt::format("member {} {}", extension, *why));
        continue;
      }
      if (auto wrapup = strategy.wrapup_until_.find(extension); wrapup != strategy.wrapup_until_.end()) {
        trail.push_back(
            fmt::format("member {} in wrap-up for {}s more", extension, seconds_up(wrapup->second - now)));
        continue;
      }
      if (auto offer = strategy.reserved_.find(extension);
          offer != strategy.reserved_.end() && offer->second.call_id != call_id) {
        trail.push_back(fmt::format("member {} has call {} on offer", extension, offer->second.call_id));
        continue;
      }
      available.push_back(extension);
    }
  }

  std::size_t joined = 0;
  std::vector<std::string> available;  // in member order
};

sdk::RoutingDecision SaGroupStrategy::decide(const sdk::RoutingRequest& request, const sdk::DeviceView& devices) {
  sdk::RoutingDecision decision;
  decision.action = sdk::RoutingDecision::Action::offer;
  decision.outcome_when_exhausted = nobody_answered_outcome;
  auto& trail = decision.trail;

  // Screen pop: only lookup-only rules ("without projects", seed 2.1) name a group call's customer.
  const sdk::RuleMatch* card = nullptr;
  for (const auto& match : request.matches)
    if (match.project.empty() && (!card || match.rule_id < card->rule_id)) card = &match;
  if (card) {
    decision.customer_id = card->rule_id;
    trail.push_back(fmt::format("customer card from lookup-only rule {}", card->rule_id));
  } else if (request.caller.empty()) {
    trail.emplace_back("caller withheld: no customer card");
  } else {
    trail.push_back(fmt::format("no lookup-only rule matches caller {}",
                                request.caller_normalised.empty() ? request.caller : request.caller_normalised));
  }

  Group* group = group_numbered(request.dialled);
  if (!group) {  // the engine asks only for numbers(); this guards a caller that asks about another number
    trail.push_back(fmt::format("{} is not a group of this strategy", request.dialled));
    trail.push_back(fmt::format("no target left: outcome {}", nobody_answered_outcome));
    return decision;
  }
  decision.ring_timeout = group->ring_timeout;

  const SteadyTime now = context_.clock().steady_now();
  forget_stale_calls(now);
  end_wrapups_before(now);

  auto& waiting = group->waiting;
  auto queued = std::find_if(waiting.begin(), waiting.end(), [&](const WaitingCall& w) { return w.call_id == request.call_id; });
  const bool already_waiting = queued != waiting.end();
  if (already_waiting) queued->last_asked = now;
  const std::size_t earlier = already_waiting ? static_cast<std::size_t>(queued - waiting.begin()) : waiting.size();
  const std::size_t capacity = static_cast<std::size_t>(group->capacity);

  // First in, first out: while older calls wait, a free member is theirs.
  if (earlier > 0) {
    const std::size_t joined = static_cast<std::size_t>(std::count_if(
        group->members.begin(), group->members.end(), [](const Member& m) { return m.joined; }));
    if (already_waiting) {
      decision.action = sdk::RoutingDecision::Action::queue;
      trail.push_back(fmt::format("{} waiting in group {}: this call stays at position {} of {}",
                                  count_of(earlier, "earlier call"), group->number, earlier + 1, waiting.size()));
    } else if (joined == 0) {
      trail.push_back(fmt::format("nobody joined group {}", group->number));
      overflow(*group, request.call_id, decision, devices);
    } else if (waiting.size() >= capacity) {
      trail.push_back(fmt::format("group {} full: {} of {} {} waiting", group->number, waiting.size(), capacity,
                                  capacity == 1 ? "call" : "calls"));
      overflow(*group, request.call_id, decision, devices);
    } else {
      waiting.push_back(WaitingCall{request.call_id, now});
      decision.action = sdk::RoutingDecision::Action::queue;
      trail.push_back(fmt::format("{} waiting in group {}: queued at position {} of {} (capacity {})",
                                  count_of(earlier, "earlier call"), group->number, waiting.size(), waiting.size(),
                                  capacity));
    }
    return decision;
  }

  MemberCheck members(*this, *group, request.call_id, devices, now, trail);
  if (!members.available.empty()) {
    if (already_waiting) waiting.erase(queued);
    if (group->distribution == Distribution::ring_all) {
      trail.push_back(fmt::format("ring all: PBX hunt group {} rings the joined members ({} free: {})",
                                  group->pbx_number, members.available.size(), joined_list(members.available)));
      decision.targets.push_back(
          sdk::RouteTarget{group->pbx_number, member_outcome, fmt::format("members of group {} (ring all)", group->number)});
    } else {
      for (auto& extension : order_targets(*group, members.available, devices, decision))
        decision.targets.push_back(
            sdk::RouteTarget{std::move(extension), member_outcome, fmt::format("member of group {}", group->number)});
      reserved_[decision.targets.front().destination] = Reservation{request.call_id, now + offer_reservation};
    }
    group_calls_[request.call_id] = GroupCall{group->number, {}, now};
    return decision;
  }

  if (members.joined == 0) {
    trail.push_back(fmt::format("nobody joined group {}", group->number));
    overflow(*group, request.call_id, decision, devices);
  } else if (!already_waiting && waiting.size() >= capacity) {
    trail.push_back(fmt::format("group {} full: {} of {} {} waiting", group->number, waiting.size(), capacity,
                                capacity == 1 ? "call" : "calls"));
    overflow(*group, request.call_id, decision, devices);
  } else {
    if (!already_waiting) waiting.push_back(WaitingCall{request.call_id, now});
    decision.action = sdk::RoutingDecision::Action::queue;
    trail.push_back(fmt::format("no member of group {} free: queued at position 1 of {} (capacity {})", group->number,
                                waiting.size(), capacity));
  }
  return decision;
}

std::vector<std::string> SaGroupStrategy::order_targets(Group& group, const std::vector<std::string>& available,
                                                        const sdk::DeviceView& devices,
                                                        sdk::RoutingDecision& decision) const {
  std::vector<std::string> order = available;
  switch (group.distribution) {
    case Distribution::linear:
      decision.trail.push_back(fmt::format("offered in member order: {}", joined_list(order)));
      break;
    case Distribution::round_robin: {
      auto last = std::find_if(group.members.begin(), group.members.end(),
                               [&](const Member& m) { return m.extension == group.round_robin_last; });
      if (last == group.members.end()) {
        decision.trail.push_back(fmt::format("offered round robin from the first member: {}", joined_list(order)));
      } else {
        // Member order, rotated to begin just after the member offered first last time.
        const std::size_t start = static_cast<std::size_t>(last - group.members.begin()) + 1;
        order.clear();
        for (std::size_t i = 0; i < group.members.size(); ++i) {
          const std::string& extension = group.members[(start + i) % group.members.size()].extension;
          if (std::find(available.begin(), available.end(), extension) != available.end()) order.push_back(extension);
        }
        decision.trail.push_back(
            fmt::format("offered round robin after {}: {}", group.round_robin_last, joined_list(order)));
      }
      group.round_robin_last = order.front();
      break;
    }
    case Distribution::longest_idle: {
      std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
        auto idle_a = devices.idle_since(a);
        auto idle_b = devices.idle_since(b);
        if (idle_a && idle_b) return *idle_a < *idle_b;
        return idle_a.has_value() && !idle_b.has_value();  // unknown idle time last
      });
      std::vector<std::string> shown;
      const auto now = context_.clock().steady_now();
      for (const auto& extension : order) {
        auto since = devices.idle_since(extension);
        shown.push_back(since ? fmt::format("{} (idle {}s)", extension,
                                            std::max<long long>(0, std::chrono::duration_cast<std::chrono::seconds>(
                                                                       now - *since).count()))
                              : fmt::format("{} (idle time unknown)", extension));
      }
      decision.trail.push_back(fmt::format("offered longest idle first: {}", joined_list(shown)));
      break;
    }
    case Distribution::ring_all: break;  // decide() offers the PBX hunt group instead
  }
  return order;
}

void SaGroupStrategy::overflow(Group& group, const std::string& call_id, sdk::RoutingDecision& decision,
                               const sdk::DeviceView& devices) {
  // An overflowing call waits no longer, wherever it goes.
  std::erase_if(group.waiting, [&](const WaitingCall& w) { return w.call_id == call_id; });
  if (!group.overflow_to_target) {
    decision.action = sdk::RoutingDecision::Action::clear;
    decision.outcome_when_exhausted = overflow_cleared_outcome;
    decision.trail.push_back(fmt::format("overflow clears the call: outcome {}", overflow_cleared_outcome));
    return;
  }
  if (auto why = sdk::why_unavailable(devices.state(group.overflow_target))) {
    decision.trail.push_back(fmt::format("overflow target {} {}", group.overflow_target, *why));
    decision.trail.push_back(fmt::format("no target left: outcome {}", nobody_answered_outcome));
    return;
  }
  decision.trail.push_back(fmt::format("overflow to {}", group.overflow_target));
  decision.targets.push_back(sdk::RouteTarget{group.overflow_target, overflow_target_outcome, "overflow target"});
}

void SaGroupStrategy::forget_stale_calls(SteadyTime now) {
  for (auto& group : groups_)
    std::erase_if(group.waiting, [&](const WaitingCall& w) {
      if (now - w.last_asked <= stale_waiting_call) return false;
      context_.logger().warn("call {} left the queue of SA group {}: not asked about for {}s (it ended unseen)",
                             w.call_id, group.number, seconds_up(now - w.last_asked));
      return true;
    });
  std::erase_if(reserved_, [&](const auto& entry) { return entry.second.until <= now; });
  std::erase_if(group_calls_, [&](const auto& entry) { return now - entry.second.offered_at > forget_calls_after; });
}

void SaGroupStrategy::end_wrapups_before(SteadyTime now) {
  std::erase_if(wrapup_until_, [&](const auto& entry) { return entry.second <= now; });
}

// ----- events --------------------------------------------------------------------------------------

void SaGroupStrategy::observe(const sdk::Event& event) {
  if (const auto* call = std::get_if<sdk::CallEvent>(&event)) handle_call_event(*call);
}

void SaGroupStrategy::handle_call_event(const sdk::CallEvent& event) {
  const std::string& call_id = event.connection.call_id;
  const std::string& device = event.connection.device;

  // Any event of the offered call at the reserved member ends the reservation: the device view takes over.
  std::erase_if(reserved_, [&](const auto& entry) {
    return entry.second.call_id == call_id &&
           (entry.first == device || entry.first == event.other_device || event.type == sdk::CallEventType::cleared);
  });

  switch (event.type) {
    case sdk::CallEventType::established: {
      auto offered = group_calls_.find(call_id);
      if (offered == group_calls_.end()) return;
      const Group* group = group_numbered(offered->second.group);
      if (!group) return;
      auto is_member = [&](const std::string& extension) {
        return std::any_of(group->members.begin(), group->members.end(),
                           [&](const Member& m) { return m.extension == extension; });
      };
      // CSTA names the answering device in both fields; the member is whichever of them is one.
      if (is_member(device))
        offered->second.answered_by = device;
      else if (is_member(event.other_device))
        offered->second.answered_by = event.other_device;
      return;
    }
    case sdk::CallEventType::cleared: {
      leave_queue(call_id, "it was cleared");
      auto offered = group_calls_.find(call_id);
      if (offered == group_calls_.end()) return;
      // Whichever connection the PBX reports cleared (the member's, or the caller's when the caller hangs
      // up), the conversation at the member has ended: its wrap-up starts.
      const Group* group = group_numbered(offered->second.group);
      const std::string member = offered->second.answered_by;
      group_calls_.erase(offered);
      if (!group || member.empty() || group->wrapup.count() <= 0) return;
      wrapup_until_[member] = context_.clock().steady_now() + group->wrapup;
      context_.logger().debug("member {} of SA group {} in wrap-up for {}ms", member, group->number,
                              group->wrapup.count());
      return;
    }
    case sdk::CallEventType::diverted: {
      // Forwarded away from the group's number by the PBX: it no longer waits there.
      if (group_numbered(device)) leave_queue(call_id, "the PBX diverted it from the group's number");
      return;
    }
    case sdk::CallEventType::delivered:
    case sdk::CallEventType::failed:
    case sdk::CallEventType::transferred:
    case sdk::CallEventType::originated: return;
  }
}

bool SaGroupStrategy::leave_queue(const std::string& call_id, std::string_view why) {
  for (auto& group : groups_) {
    auto it = std::find_if(group.waiting.begin(), group.waiting.end(),
                           [&](const WaitingCall& w) { return w.call_id == call_id; });
    if (it == group.waiting.end()) continue;
    group.waiting.erase(it);
    context_.logger().debug("call {} left the queue of SA group {}: {}", call_id, group.number, why);
    return true;
  }
  return false;
}

// ----- hunt groups and policies --------------------------------------------------------------------

std::optional<sdk::MembershipCode> SaGroupStrategy::membership_code(std::string_view dialled) const {
  if (dialled == join_code_) return sdk::MembershipCode::join;
  if (dialled == leave_code_) return sdk::MembershipCode::leave;
  return std::nullopt;
}

std::vector<std::string> SaGroupStrategy::groups_of(std::string_view member) const {
  std::vector<std::string> out;
  for (const auto& group : groups_)
    if (std::any_of(group.members.begin(), group.members.end(), [&](const Member& m) { return m.extension == member; }))
      out.push_back(group.number);
  return out;
}

bool SaGroupStrategy::set_joined(std::string_view group_number, std::string_view extension, bool joined) {
  Group* group = group_numbered(group_number);
  if (!group) return false;
  auto member = std::find_if(group->members.begin(), group->members.end(),
                             [&](const Member& m) { return m.extension == extension; });
  if (member == group->members.end()) return false;
  if (member->joined == joined) return true;
  // A call ringing at a member that leaves keeps ringing: the engine's ring timeout moves it on.
  member->joined = joined;
  context_.logger().info("member {} {} SA group {}", extension, joined ? "joined" : "left", group->number);
  save_membership();
  return true;
}

std::vector<sdk::GroupStatus> SaGroupStrategy::group_status() const {
  std::vector<sdk::GroupStatus> out;
  for (const auto& group : groups_) {
    sdk::GroupStatus status;
    status.number = group.number;
    status.name = group.name;
    status.capacity = group.capacity;
    status.distribution = distribution_names[static_cast<std::size_t>(group.distribution)];
    for (const auto& member : group.members) status.members.push_back(sdk::GroupMember{member.extension, member.joined});
    for (const auto& call : group.waiting) status.waiting.push_back(call.call_id);
    out.push_back(std::move(status));
  }
  return out;
}

std::optional<sdk::UnansweredPolicy> SaGroupStrategy::unanswered(std::string_view number) const {
  const Group* group = group_numbered(number);
  return group ? group->unanswered : std::nullopt;
}

void register_sa_group(sdk::Registrar& registrar) {
  registrar.add<SaGroupStrategy>(
      "sa_group",
      "SA (hunt) groups: joined members by linear, round-robin, longest-idle or ring-all distribution, a FIFO "
      "queue up to the group's capacity, overflow (outcome codes 20-22, 9).");
}

}  // namespace switchboard::plugins
