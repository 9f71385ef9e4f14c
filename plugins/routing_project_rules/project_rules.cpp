#include "project_rules.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <span>
#include <utility>

namespace switchboard::plugins {

namespace {

// The outcome codes this strategy writes (seed 1.1; 4 is ours). 9 is the decision's outcome when nobody
// answers; 11 (the caller hung up first) is the engine's.
constexpr sdk::OutcomeCode rule_operator_outcome = 1;
constexpr sdk::OutcomeCode project_operator_outcome = 2;
constexpr sdk::OutcomeCode all_projects_operator_outcome = 3;
constexpr sdk::OutcomeCode busy_target_outcome = 4;
constexpr sdk::OutcomeCode caller_withheld_outcome = 8;
constexpr sdk::OutcomeCode nobody_free_outcome = 9;
constexpr sdk::OutcomeCode empty_directory_outcome = 10;

// Each item of a list of extensions must be digits: an operator is an extension the PBX can ring.
void require_digit_items(const sdk::Settings& settings, std::string_view key, sdk::Diagnostics& diag) {
  if (!settings.has(key)) return;
  for (const auto& item : settings.value(key).items)
    if (!sdk::is_digits(item.text))
      diag.error(item.position, item.path, "operator '" + item.text + "' is not an extension: digits only");
}

void append_unique(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

// decide() runs once per call and writes a reason per target and a trail line per target left out. Its
// lines are put together from their pieces, each allocated once at its final size, rather than with
// fmt::format (a profile showed formatting as most of decide()'s cost); the text is the same.

// Appends a trail line of the pieces: copied together on the stack, then into the line in one allocation.
void add_line(std::vector<std::string>& trail, std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (auto piece : pieces) size += piece.size();
  char buffer[256];
  if (size > sizeof buffer) {  // a caller number or a project name far longer than any real one
    std::string& line = trail.emplace_back();
    line.reserve(size);
    for (auto piece : pieces) line.append(piece);
    return;
  }
  char* end = buffer;
  for (auto piece : pieces) {
    if (piece.empty()) continue;  // data() may be null
    std::memcpy(end, piece.data(), piece.size());
    end += piece.size();
  }
  trail.emplace_back(buffer, size);
}

// An integer in decimal, as fmt's "{}" writes it.
class Decimal {
 public:
  template <typename Integer>
  explicit Decimal(Integer value) : size_(std::to_chars(digits_, digits_ + sizeof digits_, value).ptr - digits_) {}
  std::string_view view() const { return {digits_, size_}; }

 private:
  char digits_[24];  // an int64 or a size_t: at most 20 characters
  std::size_t size_;
};

// Tells extensions apart with one integer comparison: an extension of up to 7 characters (every real one)
// is its bytes and its length; a longer one gets long_extension and is compared in full.
constexpr std::uint64_t long_extension = std::uint64_t{0xff} << 56;

std::uint64_t extension_key(std::string_view extension) {
  if (extension.size() > 7) return long_extension;
  std::uint64_t key = static_cast<std::uint64_t>(extension.size()) << 56;
  for (std::size_t i = 0; i < extension.size(); ++i)
    key |= std::uint64_t{static_cast<unsigned char>(extension[i])} << (8 * i);
  return key;
}

std::vector<std::uint64_t> extension_keys(const std::vector<std::string>& extensions) {
  std::vector<std::uint64_t> keys;
  keys.reserve(extensions.size());
  for (const auto& extension : extensions) keys.push_back(extension_key(extension));
  return keys;
}

// Reasons and trail lines that never change.
const std::string all_projects_operator_reason = "operator for all projects";
const std::string busy_target_reason = "busy target";
constexpr std::string_view no_all_projects_operators_line = "no operators for all projects";
static_assert(nobody_free_outcome == 9, "the line below names the outcome");
constexpr std::string_view no_target_left_line = "no target left: outcome 9";

}  // namespace

// Appends candidates to the decision in order, skipping devices that cannot take a call now and extensions
// already offered (first occurrence wins), with a trail line for each skip.
class ProjectRulesStrategy::Targets {
 public:
  // `offered_keys`: scratch, emptied here; it holds the extension_key() of each target, in the same order.
  Targets(sdk::RoutingDecision& decision, const sdk::DeviceView& devices, std::vector<std::uint64_t>& offered_keys)
      : decision_(decision), devices_(devices), offered_keys_(offered_keys) {
    offered_keys_.clear();
  }

  // `role` names the target in trail lines ("operator 114 busy"); `reason` goes with an offered target.
  // `key` is extension_key(extension).
  void offer(const std::string& extension, std::uint64_t key, sdk::OutcomeCode outcome, std::string_view role,
             const std::string& reason) {
    if (offered(extension, key)) {
      add_line(decision_.trail, {role, " ", extension, " already offered"});
      return;
    }
    if (auto why = sdk::why_unavailable(devices_.state(extension))) {
      add_line(decision_.trail, {role, " ", extension, " ", *why});
      return;
    }
    decision_.targets.emplace_back(extension, outcome, reason);
    offered_keys_.push_back(key);
  }

  void offer_each(std::span<const std::string> extensions, std::span<const std::uint64_t> keys,
                  sdk::OutcomeCode outcome, std::string_view role, const std::string& reason,
                  std::string_view when_none) {
    if (extensions.empty()) decision_.trail.emplace_back(when_none);
    for (std::size_t i = 0; i < extensions.size(); ++i) offer(extensions[i], keys[i], outcome, role, reason);
  }

  // The same for extensions without keys made in advance (a rule's operators); the caller writes the line for
  // an empty list, so that it is formatted only then.
  void offer_each(std::span<const std::string> extensions, sdk::OutcomeCode outcome, std::string_view role,
                  const std::string& reason) {
    for (const auto& extension : extensions) offer(extension, extension_key(extension), outcome, role, reason);
  }

 private:
  bool offered(const std::string& extension, std::uint64_t key) const {
    for (std::size_t i = 0; i < offered_keys_.size(); ++i)
      if (offered_keys_[i] == key && (key != long_extension || decision_.targets[i].destination == extension))
        return true;
    return false;
  }

  sdk::RoutingDecision& decision_;
  const sdk::DeviceView& devices_;
  std::vector<std::uint64_t>& offered_keys_;
};

sdk::ConfigSchema ProjectRulesStrategy::schema() {
  sdk::ConfigSchema project;
  project.add("number", sdk::ValueType::string)
      .required()
      .doc("The number customers dial (digits). In the PBX it is an unconnected analogue extension, where the call "
           "waits while Switchboard decides.");
  project.add("operators", sdk::TypeSpec::list_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .semicolon_string()
      .doc("The project's default operators (the original's \"operator numbers for the project\", the Info "
           "extension), tried in order when every operator of the caller's rule is busy or no rule of the project "
           "matches the caller (outcome 2). Also \"114;115;\".");
  project.add("unanswered", sdk::TypeSpec::object_of(sdk::unanswered_policy_schema()))
      .doc("The project's unanswered-call policy (seed section 3, \"additional routing parameters\"); none when "
           "absent.");

  sdk::ConfigSchema busy_target;
  busy_target.add("number", sdk::ValueType::string)
      .doc("One destination for the calls of every project whose caller's rule operators are all busy (the "
           "original's \"if the operator is busy, route the call to\"); digits.");
  busy_target.add("active", sdk::ValueType::boolean)
      .default_value(false)
      .doc("Whether the busy target is offered (outcome 4); needs `number`.");

  sdk::ConfigSchema s;
  s.add("storage", sdk::TypeSpec::reference_to(sdk::Category::storage))
      .required()
      .doc("The storage instance whose rules the core indexes for this strategy: the rules that match callers.");
  s.add("projects", sdk::TypeSpec::list_of(sdk::TypeSpec::object_of(std::move(project))))
      .doc("The project numbers this strategy routes, each with its default operators; at least one.");
  s.add("all_projects_operators", sdk::TypeSpec::list_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .semicolon_string()
      .doc("The original's \"operator numbers for all projects\": the last fallback of every project (outcome 3), "
           "and the only targets when the caller is withheld (8) or the database holds no rules (10). Also "
           "\"120;121;\".");
  s.add("busy_target", sdk::TypeSpec::object_of(std::move(busy_target)))
      .doc("Where a call goes when every operator of the caller's rule is busy, before the project's operators.");
  s.add("ring_timeout", sdk::ValueType::duration)
      .range(1'000, 600'000)
      .default_value("20s")
      .doc("How long a target may ring before the engine moves on to the next one.");
  return s;
}

void ProjectRulesStrategy::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  auto projects = settings.objects("projects");
  if (projects.empty())
    diag.error(settings, "projects", "at least one project is needed: the strategy routes only its projects' calls");
  std::vector<std::string> seen;
  for (const sdk::Settings* project : projects) {
    const std::string& number = project->string("number");
    if (!sdk::is_digits(number))
      diag.error(*project, "number", "project number '" + number + "' is not an extension: digits only");
    else if (std::find(seen.begin(), seen.end(), number) != seen.end())
      diag.error(*project, "number", "project " + number + " is listed twice; each project number appears once");
    seen.push_back(number);
    require_digit_items(*project, "operators", diag);
    if (project->has("unanswered")) sdk::check_unanswered_policy(project->object("unanswered"), diag);
  }
  require_digit_items(settings, "all_projects_operators", diag);

  const sdk::Settings& busy_target = settings.object("busy_target");
  const std::string number = busy_target.string_or("number", "");
  if (!number.empty() && !sdk::is_digits(number))
    diag.error(busy_target, "number", "busy target '" + number + "' is not an extension: digits only");
  if (busy_target.boolean("active") && number.empty())
    diag.error(busy_target, "active", "an active busy target needs busy_target.number");
}

ProjectRulesStrategy::ProjectRulesStrategy(sdk::Context&, const sdk::Settings& settings)
    : all_projects_operators_(settings.strings("all_projects_operators")),
      busy_target_(settings.object("busy_target").string_or("number", "")),
      busy_target_active_(settings.object("busy_target").boolean("active")),
      ring_timeout_(settings.duration("ring_timeout")) {
  for (const sdk::Settings* project : settings.objects("projects")) {
    Project p{project->string("number"), project->strings("operators"), std::nullopt, {}, {}, {}};
    if (project->has("unanswered")) p.unanswered = sdk::unanswered_policy_from(project->object("unanswered"));
    p.operator_keys = extension_keys(p.operators);
    p.operator_reason = "operator of project " + p.number;
    p.no_operators_line = "no operators for project " + p.number;
    projects_.push_back(std::move(p));
    numbers_.push_back(project->string("number"));
  }
  all_projects_keys_ = extension_keys(all_projects_operators_);
  busy_target_key_ = extension_key(busy_target_);
  busy_target_not_active_line_ = "busy target " + busy_target_ + " not active";
  for (const auto& project : projects_)
    for (const auto& extension : project.operators) append_unique(devices_, extension);
  for (const auto& extension : all_projects_operators_) append_unique(devices_, extension);
  // An inactive busy target is never offered, so there is nothing to monitor.
  if (busy_target_active_) append_unique(devices_, busy_target_);
}

std::optional<sdk::UnansweredPolicy> ProjectRulesStrategy::unanswered(std::string_view number) const {
  const auto* project = project_numbered(number);
  return project ? project->unanswered : std::nullopt;
}

const ProjectRulesStrategy::Project* ProjectRulesStrategy::project_numbered(std::string_view number) const {
  for (const auto& project : projects_)
    if (project.number == number) return &project;
  return nullptr;
}

sdk::RoutingDecision ProjectRulesStrategy::decide(const sdk::RoutingRequest& request, const sdk::DeviceView& devices) {
  sdk::RoutingDecision decision;
  decision.action = sdk::RoutingDecision::Action::offer;
  decision.ring_timeout = ring_timeout_;
  decision.outcome_when_exhausted = nobody_free_outcome;
  Targets targets(decision, devices, offered_keys_);

  if (request.caller.empty()) {
    decision.trail.reserve(all_projects_operators_.size() + 3);
    decision.trail.emplace_back("caller withheld: operators for all projects");
    decision.targets.reserve(all_projects_operators_.size());
    targets.offer_each(all_projects_operators_, all_projects_keys_, caller_withheld_outcome, "all-projects operator",
                       all_projects_operator_reason, no_all_projects_operators_line);
  } else if (request.directory_empty) {
    decision.trail.reserve(all_projects_operators_.size() + 3);
    decision.trail.emplace_back("no rules in the database: operators for all projects");
    decision.targets.reserve(all_projects_operators_.size());
    targets.offer_each(all_projects_operators_, all_projects_keys_, empty_directory_outcome, "all-projects operator",
                       all_projects_operator_reason, no_all_projects_operators_line);
  } else {
    route_by_rules(request, project_numbered(request.dialled), decision, targets);
  }

  if (decision.targets.empty()) decision.trail.emplace_back(no_target_left_line);
  return decision;
}

void ProjectRulesStrategy::route_by_rules(const sdk::RoutingRequest& request, const Project* project,
                                          sdk::RoutingDecision& decision, Targets& targets) {
  const std::string_view caller = request.caller_normalised.empty() ? request.caller : request.caller_normalised;
  const std::string_view dialled = request.dialled;

  // Only a rule of the dialled project routes (code 1); any other match still identifies the customer.
  const sdk::RuleMatch* own_rule = nullptr;
  std::size_t own_rules = 0;
  const sdk::RuleMatch* card_rule = nullptr;
  for (const auto& match : request.matches) {
    if (!match.project.empty() && match.project == dialled) {
      ++own_rules;
      if (!own_rule || match.rule_id < own_rule->rule_id) own_rule = &match;
    } else if (!card_rule || match.rule_id < card_rule->rule_id) {
      card_rule = &match;
    }
  }

  std::span<const std::string> project_operators;
  if (project) project_operators = project->operators;
  const std::size_t candidates = (own_rule ? own_rule->operators.size() + 1 : 0) + project_operators.size() +
                                 all_projects_operators_.size();
  decision.targets.reserve(candidates);
  // At most a line a candidate, and these steps' own lines (below and the last one of decide()): the trail
  // is allocated once. The engine appends its own lines to the same vector afterwards.
  decision.trail.reserve(candidates + 8);

  // The engine asks only for numbers(); this guards a caller that asks about another number.
  if (!project) add_line(decision.trail, {dialled, " is not a project of this strategy"});

  if (own_rule) {
    decision.customer_id = own_rule->rule_id;
    const Decimal rule_id(own_rule->rule_id);
    if (own_rules == 1)
      add_line(decision.trail, {"caller ", caller, " matches rule ", rule_id.view(), " of project ", dialled});
    else  // the import refuses this; rules written another way may still overlap
      add_line(decision.trail, {"caller ", caller, " matches ", Decimal(own_rules).view(), " rules of project ", dialled,
                                " (ambiguous): using rule ", rule_id.view()});
    if (own_rule->operators.empty()) {
      add_line(decision.trail, {"rule ", rule_id.view(), " names no operators"});
    } else {
      rule_reason_.assign("operator of rule ").append(rule_id.view());
      targets.offer_each(own_rule->operators, rule_operator_outcome, "operator", rule_reason_);
    }
    // The busy target stands in for the rule's operators only, so it comes before the project's.
    if (busy_target_active_)
      targets.offer(busy_target_, busy_target_key_, busy_target_outcome, "busy target", busy_target_reason);
    else if (busy_target_.empty())
      decision.trail.emplace_back("no busy target");
    else
      decision.trail.push_back(busy_target_not_active_line_);
  } else {
    add_line(decision.trail, {"no rule of project ", dialled, " matches caller ", caller});
    if (card_rule) {
      decision.customer_id = card_rule->rule_id;
      const Decimal rule_id(card_rule->rule_id);
      if (card_rule->project.empty())
        add_line(decision.trail, {"customer card from lookup-only rule ", rule_id.view()});
      else
        add_line(decision.trail, {"customer card from rule ", rule_id.view(), " of project ", card_rule->project,
                                  "; its operators serve that project"});
    }
  }

  if (project)
    targets.offer_each(project->operators, project->operator_keys, project_operator_outcome, "project operator",
                       project->operator_reason, project->no_operators_line);
  targets.offer_each(all_projects_operators_, all_projects_keys_, all_projects_operator_outcome,
                     "all-projects operator", all_projects_operator_reason, no_all_projects_operators_line);
}

void register_project_rules(sdk::Registrar& registrar) {
  registrar.add<ProjectRulesStrategy>(
      "project_rules",
      "Category routing: the operators of the caller's rule in the dialled project, then the busy target, the "
      "project's and all projects' operators (outcome codes 1-4, 8-10).");
}

}  // namespace switchboard::plugins
