// Storage conformance suite: the sdk::Storage contract (storage.hpp) as GoogleTest tests that every
// storage plugin passes, first-party or a vendor's. Value-parameterised: one instantiation per backend.
//
// Usage: in ONE source file of a test binary (the header defines the tests):
//
//   #include "switchboard/sdk/testing/storage_conformance.hpp"
//   namespace sdk = switchboard::sdk;
//   using switchboard::sdk::testing::StorageConformance;  // INSTANTIATE_TEST_SUITE_P needs the bare name
//
//   sdk::testing::StorageUnderTest make_acme(sdk::testing::FakeContext& ctx) {
//     auto file = make_empty_temporary_file();                       // a fresh database for every test
//     auto settings = sdk::testing::settings_for(factory, sdk::ConfigNode::map({{"file", file}}));
//     return {factory.create(ctx, settings), [file] { std::filesystem::remove(file); }};
//   }
//   INSTANTIATE_TEST_SUITE_P(Acme, StorageConformance,
//                            ::testing::Values(sdk::testing::StorageBackend{"file", make_acme}),
//                            sdk::testing::StorageBackend::name_of);
//
// The maker returns a created, NOT started, instance on an EMPTY database of its own: the fixture starts
// it, runs one test, stops and destroys it, then runs `cleanup`. A maker that cannot run in this
// environment (no database server configured) calls GTEST_SKIP() and returns an empty StorageUnderTest.
//
// Besides storage.hpp, the suite pins these points, which every plugin must share so the core can rely
// on them:
//  - Times are kept to the millisecond: a time written with whole milliseconds reads back equal.
//  - A new rule (not found by id) keeps the created_at/updated_at it was given; when they are zero (the
//    epoch) both become the context clock's now(). An update keeps created_at and sets updated_at to now();
//    an unchanged rule (same content, timestamps aside) is not touched. add_note and the notes of a write
//    get saved_at = now() when it is zero. Note ids in a write are ignored (assigned by storage).
//  - write_rules refuses, as invalid_argument and changing nothing: a negative rule id, the same rule id
//    twice in one write, and a note whose rule_id is not positive. A note may name a rule that does not
//    exist (any more): notes outlive rules.
//  - search_rules combines its filters with AND (an empty filter does not restrict); text is a literal
//    substring (no wildcards), case-insensitive for accented capitals too ("ČEDOK" is found by "čedok").
//  - delete_rule, remove_agent and mark_missed_done of something unknown report not_found.
//  - Operations after stop() are refused; stop() completes a pending operation once, with cancelled.
//  - The order of load_agents, load_groups and list_missed is not specified (the suite sorts).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "switchboard/sdk/storage.hpp"
#include "switchboard/sdk/testing/fake_context.hpp"

namespace switchboard::sdk::testing {

// ----- what a vendor provides ------------------------------------------------------------------------

struct StorageUnderTest {
  std::unique_ptr<Instance> storage;  // must be an sdk::Storage (a factory's create() returns an Instance)
  std::function<void()> cleanup;      // after the instance is stopped and destroyed: delete the database
};

struct StorageBackend {
  std::string name;  // part of the test names: letters, digits and '_' only
  std::function<StorageUnderTest(FakeContext&)> make;

  static std::string name_of(const ::testing::TestParamInfo<StorageBackend>& info) { return info.param.name; }
};

// How GoogleTest shows the parameter in test names and failures (instead of its bytes).
inline void PrintTo(const StorageBackend& backend, std::ostream* os) { *os << backend.name; }

// ----- comparing values field by field ---------------------------------------------------------------

namespace storage_detail {

inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(const TimePoint& t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count()) + "us";
}
inline std::string show(std::int64_t v) { return std::to_string(v); }
inline std::string show(std::uint64_t v) { return std::to_string(v); }
inline std::string show(int v) { return std::to_string(v); }
inline std::string show(bool v) { return v ? "true" : "false"; }
inline std::string show(AgentRole r) { return r == AgentRole::administrator ? "administrator" : "agent"; }
template <class T>
std::string show(const std::optional<T>& v) {
  return v ? show(*v) : std::string("(none)");
}
template <class Range>
std::string show_range(const Range& items) {
  std::string out = "[";
  for (const auto& item : items) out += (out.size() > 1 ? ", " : "") + show(item);
  return out + "]";
}
inline std::string show(const std::vector<std::string>& v) { return show_range(v); }
inline std::string show(const std::array<std::string, 3>& v) { return show_range(v); }

// Collects every differing field, so one failure shows all of them.
class Differences {
 public:
  template <class T>
  void field(const char* name, const T& expected, const T& actual) {
    if (!(expected == actual)) text_ += std::string("\n  ") + name + ": expected " + show(expected) + ", got " + show(actual);
  }
  ::testing::AssertionResult result() const {
    if (text_.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "fields differ:" << text_;
  }

 private:
  std::string text_;
};

}  // namespace storage_detail

inline ::testing::AssertionResult same_rule(const Rule& expected, const Rule& actual) {
  storage_detail::Differences d;
  d.field("id", expected.id, actual.id);
  d.field("project", expected.project, actual.project);
  d.field("company_id", expected.company_id, actual.company_id);
  d.field("company", expected.company, actual.company);
  d.field("callers", expected.callers, actual.callers);
  d.field("callers_normalised", expected.callers_normalised, actual.callers_normalised);
  d.field("operators", expected.operators, actual.operators);
  d.field("street", expected.street, actual.street);
  d.field("city", expected.city, actual.city);
  d.field("postcode", expected.postcode, actual.postcode);
  d.field("note", expected.note, actual.note);
  d.field("created_at", expected.created_at, actual.created_at);
  d.field("updated_at", expected.updated_at, actual.updated_at);
  return d.result();
}

inline ::testing::AssertionResult same_keys(const RuleKeys& expected, const RuleKeys& actual) {
  storage_detail::Differences d;
  d.field("id", expected.id, actual.id);
  d.field("project", expected.project, actual.project);
  d.field("callers_normalised", expected.callers_normalised, actual.callers_normalised);
  d.field("operators", expected.operators, actual.operators);
  return d.result();
}

inline ::testing::AssertionResult same_note(const Note& expected, const Note& actual) {
  storage_detail::Differences d;
  d.field("id", expected.id, actual.id);
  d.field("rule_id", expected.rule_id, actual.rule_id);
  d.field("saved_at", expected.saved_at, actual.saved_at);
  d.field("call_at", expected.call_at, actual.call_at);
  d.field("operator_extension", expected.operator_extension, actual.operator_extension);
  d.field("agent", expected.agent, actual.agent);
  d.field("text", expected.text, actual.text);
  return d.result();
}

inline ::testing::AssertionResult same_call(const CallRecord& expected, const CallRecord& actual) {
  storage_detail::Differences d;
  d.field("sequence", expected.sequence, actual.sequence);
  d.field("at", expected.at, actual.at);
  d.field("call_id", expected.call_id, actual.call_id);
  d.field("project", expected.project, actual.project);
  d.field("caller", expected.caller, actual.caller);
  d.field("operator_extension", expected.operator_extension, actual.operator_extension);
  d.field("outcome", expected.outcome, actual.outcome);
  d.field("customer_id", expected.customer_id, actual.customer_id);
  d.field("strategy", expected.strategy, actual.strategy);
  d.field("reasons", expected.reasons, actual.reasons);
  return d.result();
}

inline ::testing::AssertionResult same_agent(const Agent& expected, const Agent& actual) {
  storage_detail::Differences d;
  d.field("id", expected.id, actual.id);
  d.field("name", expected.name, actual.name);
  d.field("password_hash", expected.password_hash, actual.password_hash);
  d.field("extension", expected.extension, actual.extension);
  d.field("last_ip", expected.last_ip, actual.last_ip);
  d.field("start", expected.start, actual.start);
  d.field("stop", expected.stop, actual.stop);
  d.field("may_edit_central_list", expected.may_edit_central_list, actual.may_edit_central_list);
  d.field("may_edit_own_list", expected.may_edit_own_list, actual.may_edit_own_list);
  d.field("call_module", expected.call_module, actual.call_module);
  d.field("group", expected.group, actual.group);
  d.field("role", expected.role, actual.role);
  return d.result();
}

inline ::testing::AssertionResult same_group(const SaGroup& expected, const SaGroup& actual) {
  storage_detail::Differences d;
  d.field("number", expected.number, actual.number);
  d.field("name", expected.name, actual.name);
  d.field("capacity", expected.capacity, actual.capacity);
  return d.result();
}

inline ::testing::AssertionResult same_missed(const MissedCall& expected, const MissedCall& actual) {
  storage_detail::Differences d;
  d.field("id", expected.id, actual.id);
  d.field("at", expected.at, actual.at);
  d.field("number", expected.number, actual.number);
  d.field("caller", expected.caller, actual.caller);
  d.field("agent_extension", expected.agent_extension, actual.agent_extension);
  d.field("customer_id", expected.customer_id, actual.customer_id);
  d.field("done", expected.done, actual.done);
  return d.result();
}

// A time with whole milliseconds since the epoch.
inline TimePoint at_millis(std::int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

// ----- the fixture -----------------------------------------------------------------------------------

class StorageConformance : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    sut_ = GetParam().make(ctx_);
    if (IsSkipped()) return;
    ASSERT_TRUE(sut_.storage) << "the maker returned no instance";
    storage_ = dynamic_cast<Storage*>(sut_.storage.get());
    ASSERT_NE(storage_, nullptr) << "the maker's instance is not an sdk::Storage";
    Status started = wait_status([&](Completion done) { storage_->start(std::move(done)); });
    ASSERT_TRUE(started.ok()) << "start() failed: " << started.error().message;
  }

  void TearDown() override {
    if (sut_.storage) {
      if (storage_ && !stopped_) wait_status([&](Completion done) { storage_->stop(std::move(done)); });
      sut_.storage.reset();
    }
    if (sut_.cleanup) sut_.cleanup();
  }

  Storage& storage() { return *storage_; }
  FakeContext& ctx() { return ctx_; }

  // Runs one operation to completion: its callback must run exactly once.
  template <class T, class Operation>
  Result<T> wait_for(Operation operation) {
    std::optional<Result<T>> outcome;
    int calls = 0;
    operation(ResultCallback<T>([&](Result<T> r) {
      ++calls;
      outcome.emplace(std::move(r));
    }));
    ctx_.run();
    EXPECT_EQ(calls, 1) << "a callback must run exactly once";
    if (!outcome) return make_error(ErrorCode::failed, "the callback never ran");
    return std::move(*outcome);
  }
  template <class Operation>
  Status wait_status(Operation operation) {
    std::optional<Status> outcome;
    int calls = 0;
    operation(Completion([&](Status s) {
      ++calls;
      outcome = std::move(s);
    }));
    ctx_.run();
    EXPECT_EQ(calls, 1) << "a callback must run exactly once";
    if (!outcome) return make_error(ErrorCode::failed, "the callback never ran");
    return *outcome;
  }

  // The operations, run to completion. Each ASSERTs nothing: tests check ok() themselves.
  Result<std::vector<RuleKeys>> load_rule_keys() {
    return wait_for<std::vector<RuleKeys>>([&](auto done) { storage().load_rule_keys(std::move(done)); });
  }
  Result<std::vector<Rule>> get_rules(std::vector<std::int64_t> ids) {
    return wait_for<std::vector<Rule>>([&](auto done) { storage().get_rules(ids, std::move(done)); });
  }
  Result<std::vector<Rule>> list_rules(std::optional<std::string> project = std::nullopt) {
    return wait_for<std::vector<Rule>>([&](auto done) { storage().list_rules(project, std::move(done)); });
  }
  Result<std::vector<Rule>> search_rules(RuleQuery query) {
    return wait_for<std::vector<Rule>>([&](auto done) { storage().search_rules(query, std::move(done)); });
  }
  Result<RuleWriteSummary> write_rules(RuleWrite write) {
    return wait_for<RuleWriteSummary>([&](auto done) { storage().write_rules(write, std::move(done)); });
  }
  Result<RuleWriteSummary> write_rules(std::vector<Rule> rules, std::vector<Note> notes = {},
                                       RuleWriteMode mode = RuleWriteMode::upsert, std::string project = {}) {
    return write_rules(RuleWrite{std::move(rules), std::move(notes), mode, std::move(project)});
  }
  Status delete_rule(std::int64_t id) {
    return wait_status([&](auto done) { storage().delete_rule(id, std::move(done)); });
  }
  Result<Note> add_note(Note note) {
    return wait_for<Note>([&](auto done) { storage().add_note(note, std::move(done)); });
  }
  Result<std::vector<Note>> notes_for(std::int64_t rule_id) {
    return wait_for<std::vector<Note>>([&](auto done) { storage().notes_for(rule_id, std::move(done)); });
  }
  Result<std::vector<Note>> list_notes(std::optional<std::string> project = std::nullopt) {
    return wait_for<std::vector<Note>>([&](auto done) { storage().list_notes(project, std::move(done)); });
  }
  Result<std::vector<CallRecord>> append_calls(std::vector<CallRecord> records) {
    return wait_for<std::vector<CallRecord>>([&](auto done) { storage().append_calls(records, std::move(done)); });
  }
  Result<std::vector<CallRecord>> read_calls(std::uint64_t after, std::size_t limit) {
    return wait_for<std::vector<CallRecord>>([&](auto done) { storage().read_calls(after, limit, std::move(done)); });
  }
  Result<std::uint64_t> delete_calls_through(std::uint64_t through) {
    return wait_for<std::uint64_t>([&](auto done) { storage().delete_calls_through(through, std::move(done)); });
  }
  Result<std::vector<Agent>> load_agents() {
    auto agents = wait_for<std::vector<Agent>>([&](auto done) { storage().load_agents(std::move(done)); });
    if (agents.ok())
      std::sort(agents->begin(), agents->end(), [](const Agent& a, const Agent& b) { return a.name < b.name; });
    return agents;
  }
  Result<Agent> save_agent(Agent agent) {
    return wait_for<Agent>([&](auto done) { storage().save_agent(agent, std::move(done)); });
  }
  Status remove_agent(std::string name) {
    return wait_status([&](auto done) { storage().remove_agent(name, std::move(done)); });
  }
  Result<std::vector<SaGroup>> load_groups() {
    auto groups = wait_for<std::vector<SaGroup>>([&](auto done) { storage().load_groups(std::move(done)); });
    if (groups.ok())
      std::sort(groups->begin(), groups->end(), [](const SaGroup& a, const SaGroup& b) { return a.number < b.number; });
    return groups;
  }
  Status save_group(SaGroup group) {
    return wait_status([&](auto done) { storage().save_group(group, std::move(done)); });
  }
  Result<MissedCall> add_missed(MissedCall call) {
    return wait_for<MissedCall>([&](auto done) { storage().add_missed(call, std::move(done)); });
  }
  Result<std::vector<MissedCall>> list_missed(std::optional<std::string> extension = std::nullopt) {
    auto calls = wait_for<std::vector<MissedCall>>([&](auto done) { storage().list_missed(extension, std::move(done)); });
    if (calls.ok())
      std::sort(calls->begin(), calls->end(), [](const MissedCall& a, const MissedCall& b) { return a.id < b.id; });
    return calls;
  }
  Status mark_missed_done(std::int64_t id) {
    return wait_status([&](auto done) { storage().mark_missed_done(id, std::move(done)); });
  }
  Status append_audit(std::vector<AuditRecord> records) {
    return wait_status([&](auto done) { storage().append_audit(records, std::move(done)); });
  }
  Status stop() {
    stopped_ = true;
    return wait_status([&](Completion done) { storage().stop(std::move(done)); });
  }

  // ----- sample data ---------------------------------------------------------------------------------

  // A customer card with every field filled, as the seed's rule table has them.
  static Rule full_rule() {
    Rule r;
    r.project = "100";
    r.company_id = "CZ-4711";
    r.company = "Čedok Žluťoučký kůň s.r.o.";
    r.callers = {"0221 123 456", "+420 602 111 222", "115"};
    r.callers_normalised = {"+420221123456", "+420602111222", "115"};
    r.operators = {"114", "116", "120"};
    r.street = "Na Příkopě 18";
    r.city = "Praha";
    r.postcode = "110 00";
    r.note = "VIP; calls before 9:00";
    r.created_at = at_millis(1'700'000'123'456);
    r.updated_at = at_millis(1'700'000'223'457);
    return r;
  }
  static Rule rule_for(std::string company, std::string project, std::string number) {
    Rule r;
    r.project = std::move(project);
    r.company = std::move(company);
    r.callers = {number, "", ""};
    r.callers_normalised = {number, "", ""};
    r.operators = {"114"};
    r.created_at = at_millis(1'600'000'000'000);
    r.updated_at = at_millis(1'600'000'000'000);
    return r;
  }
  static Note note_for(std::int64_t rule_id, std::int64_t saved_at_ms, std::string text) {
    Note n;
    n.rule_id = rule_id;
    n.saved_at = at_millis(saved_at_ms);
    n.call_at = at_millis(saved_at_ms - 60'000);
    n.operator_extension = "114";
    n.agent = "jana";
    n.text = std::move(text);
    return n;
  }
  static CallRecord call_record(std::string call_id) {
    CallRecord c;
    c.at = at_millis(1'700'000'000'001);
    c.call_id = std::move(call_id);
    c.project = "100";
    c.caller = "+420602111222";
    c.operator_extension = "114";
    c.outcome = 1;
    c.customer_id = 12;
    c.strategy = "sales";
    c.reasons = {"rule 12 matched caller", "116 busy", "114 answered"};
    return c;
  }

  // Writes `rules` as new rules and returns them as stored (ids assigned); fails the test otherwise.
  std::vector<Rule> insert(std::vector<Rule> rules) {
    auto summary = write_rules(rules);
    EXPECT_TRUE(summary.ok()) << summary.error().message;
    if (!summary.ok()) return {};
    EXPECT_EQ(summary->written.size(), rules.size());
    for (std::size_t i = 0; i < rules.size() && i < summary->written.size(); ++i) rules[i].id = summary->written[i].id;
    return rules;
  }
  static std::vector<std::int64_t> ids_of(const std::vector<Rule>& rules) {
    std::vector<std::int64_t> ids;
    for (const auto& r : rules) ids.push_back(r.id);
    return ids;
  }
  // What a result ordered by id must equal.
  static std::vector<std::int64_t> in_id_order(std::vector<std::int64_t> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  }

 private:
  FakeContext ctx_{"conformance", Category::storage};
  StorageUnderTest sut_;
  Storage* storage_ = nullptr;
  bool stopped_ = false;
};

// ===== lifecycle =====================================================================================

TEST_P(StorageConformance, StopCompletesAPendingOperationOnceAsCancelled) {
  int calls = 0;
  std::optional<Result<std::vector<Rule>>> outcome;
  storage().list_rules(std::nullopt, [&](Result<std::vector<Rule>> r) {
    ++calls;
    outcome.emplace(std::move(r));
  });
  int stops = 0;
  storage().stop([&](Status s) {
    ++stops;
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(calls, 1) << "stop() completed before the pending operation";
  });
  ctx().run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(stops, 1);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->ok()) << "an operation pending at stop() must complete as cancelled";
  EXPECT_EQ(outcome->error().code, ErrorCode::cancelled);
  Status again = stop();
  EXPECT_TRUE(again.ok()) << "a second stop() must succeed";
}

TEST_P(StorageConformance, OperationsAfterStopAreRefused) {
  ASSERT_TRUE(stop().ok());
  auto rules = list_rules();
  EXPECT_FALSE(rules.ok());
  auto appended = append_calls({call_record("c1")});
  EXPECT_FALSE(appended.ok());
}

// ===== rules =========================================================================================

TEST_P(StorageConformance, ARuleRoundTripsWithEveryField) {
  Rule rule = full_rule();
  auto summary = write_rules({rule});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->added, 1u);
  ASSERT_EQ(summary->written.size(), 1u);
  rule.id = summary->written[0].id;
  EXPECT_GT(rule.id, 0);
  EXPECT_TRUE(same_keys(RuleKeys{rule.id, rule.project, rule.callers_normalised, rule.operators}, summary->written[0]));

  auto read = get_rules({rule.id});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  EXPECT_TRUE(same_rule(rule, read->front()));

  auto listed = list_rules();
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(same_rule(rule, listed->front()));

  auto keys = load_rule_keys();
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_TRUE(same_keys(RuleKeys{rule.id, rule.project, rule.callers_normalised, rule.operators}, keys->front()));
}

TEST_P(StorageConformance, EmptyFieldsRoundTripEmpty) {
  Rule rule;  // a lookup-only rule (no project) with one number and nothing else
  rule.callers = {"", "602111222", ""};
  rule.callers_normalised = {"", "+420602111222", ""};
  rule.created_at = at_millis(1);
  rule.updated_at = at_millis(4'102'444'800'000);  // 2100-01-01
  auto stored = insert({rule});
  ASSERT_EQ(stored.size(), 1u);
  auto read = get_rules({stored[0].id});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  EXPECT_TRUE(same_rule(stored[0], read->front()));
  EXPECT_TRUE(read->front().operators.empty());
}

TEST_P(StorageConformance, GetRulesSkipsUnknownIds) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "100", "222")});
  ASSERT_EQ(stored.size(), 2u);
  auto read = get_rules({stored[1].id, 987654, stored[0].id});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  std::vector<std::int64_t> ids{read->at(0).id, read->at(1).id};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::int64_t>{stored[0].id, stored[1].id}));
}

TEST_P(StorageConformance, NewRulesGetDistinctIdsAndTheClockAsDefaultTimes) {
  Rule a = rule_for("A", "100", "111"), b = rule_for("B", "100", "222");
  a.created_at = a.updated_at = b.created_at = b.updated_at = TimePoint{};
  auto stored = insert({a, b});
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_GT(stored[0].id, 0);
  EXPECT_GT(stored[1].id, 0);
  EXPECT_NE(stored[0].id, stored[1].id);
  auto read = list_rules();
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  for (const auto& rule : *read) {
    EXPECT_EQ(rule.created_at, ctx().clock().now());
    EXPECT_EQ(rule.updated_at, ctx().clock().now());
  }
}

TEST_P(StorageConformance, ListRulesOrdersByIdAndFiltersByProject) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "", "222"), rule_for("C", "100", "333"),
                        rule_for("D", "200", "444")});
  ASSERT_EQ(stored.size(), 4u);
  auto all = list_rules();
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(ids_of(*all), in_id_order(ids_of(stored)));

  auto project = list_rules(std::string("100"));
  ASSERT_TRUE(project.ok()) << project.error().message;
  EXPECT_EQ(ids_of(*project), in_id_order({stored[0].id, stored[2].id}));
  auto lookup_only = list_rules(std::string(""));
  ASSERT_TRUE(lookup_only.ok()) << lookup_only.error().message;
  EXPECT_EQ(ids_of(*lookup_only), (std::vector<std::int64_t>{stored[1].id}));
}

TEST_P(StorageConformance, UpsertCountsAddedUpdatedAndUnchanged) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "100", "222")});
  ASSERT_EQ(stored.size(), 2u);
  ctx().advance(std::chrono::seconds(90));
  Rule unchanged = stored[0];
  Rule changed = stored[1];
  changed.company = "B renamed";
  changed.operators = {"120", "114"};
  Rule added = rule_for("C", "100", "333");
  auto summary = write_rules({unchanged, changed, added});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->added, 1u);
  EXPECT_EQ(summary->updated, 1u);
  EXPECT_EQ(summary->unchanged, 1u);
  EXPECT_EQ(summary->removed, 0u);
  ASSERT_EQ(summary->written.size(), 3u);
  EXPECT_EQ(summary->written[0].id, stored[0].id);
  EXPECT_EQ(summary->written[1].id, stored[1].id);
  EXPECT_EQ(summary->written[1].operators, (std::vector<std::string>{"120", "114"}));
  EXPECT_GT(summary->written[2].id, 0);

  auto read = get_rules({stored[0].id, stored[1].id});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_TRUE(same_rule(stored[0], read->at(0))) << "an unchanged rule must not be touched";
  Rule expected = changed;
  expected.created_at = stored[1].created_at;
  expected.updated_at = ctx().clock().now();
  EXPECT_TRUE(same_rule(expected, read->at(1)));
}

TEST_P(StorageConformance, ARuleWithAnUnknownIdIsCreatedWithThatId) {
  Rule imported = rule_for("Imported", "100", "111");
  imported.id = 500;
  auto summary = write_rules({imported});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->added, 1u);
  ASSERT_EQ(summary->written.size(), 1u);
  EXPECT_EQ(summary->written[0].id, 500);
  auto read = get_rules({500});
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 1u);
  EXPECT_TRUE(same_rule(imported, read->front()));

  // New rules after an import never collide with imported ids.
  auto more = insert({rule_for("New 1", "100", "222"), rule_for("New 2", "100", "333")});
  ASSERT_EQ(more.size(), 2u);
  EXPECT_NE(more[0].id, 500);
  EXPECT_NE(more[1].id, 500);
  auto all = list_rules();
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->size(), 3u);
}

TEST_P(StorageConformance, ReplaceProjectRemovesOnlyThatProjectsRulesNotNamed) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "100", "222"), rule_for("C", "200", "333"),
                        rule_for("D", "", "444")});
  ASSERT_EQ(stored.size(), 4u);
  Rule kept = stored[0];
  kept.city = "Brno";
  auto summary = write_rules({kept, rule_for("E", "100", "555")}, {}, RuleWriteMode::replace_project, "100");
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->added, 1u);
  EXPECT_EQ(summary->updated, 1u);
  EXPECT_EQ(summary->unchanged, 0u);
  EXPECT_EQ(summary->removed, 1u);
  EXPECT_EQ(summary->removed_ids, (std::vector<std::int64_t>{stored[1].id}));
  auto remaining = list_rules();
  ASSERT_TRUE(remaining.ok()) << remaining.error().message;
  ASSERT_EQ(remaining->size(), 4u);  // A, C, D, E
  auto b = get_rules({stored[1].id});
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
}

TEST_P(StorageConformance, ReplaceProjectOfTheEmptyProjectReplacesLookupOnlyRules) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "", "222"), rule_for("C", "", "333")});
  ASSERT_EQ(stored.size(), 3u);
  auto summary = write_rules({stored[2]}, {}, RuleWriteMode::replace_project, "");
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->unchanged, 1u);
  EXPECT_EQ(summary->removed_ids, (std::vector<std::int64_t>{stored[1].id}));
  auto remaining = list_rules();
  ASSERT_TRUE(remaining.ok());
  EXPECT_EQ(ids_of(*remaining), in_id_order({stored[0].id, stored[2].id}));
}

TEST_P(StorageConformance, ReplaceAllRemovesEveryRuleNotNamed) {
  auto stored = insert({rule_for("A", "100", "111"), rule_for("B", "200", "222"), rule_for("C", "", "333")});
  ASSERT_EQ(stored.size(), 3u);
  auto summary = write_rules({stored[1], rule_for("D", "300", "444")}, {}, RuleWriteMode::replace_all);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->added, 1u);
  EXPECT_EQ(summary->unchanged, 1u);
  EXPECT_EQ(summary->removed, 2u);
  auto removed = summary->removed_ids;
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::int64_t>{stored[0].id, stored[2].id}));
  auto keys = load_rule_keys();
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->at(0).id, stored[1].id);
}

TEST_P(StorageConformance, AWriteNamingARuleIdTwiceIsRefusedAndChangesNothing) {
  auto before = insert({rule_for("A", "100", "111")});
  ASSERT_EQ(before.size(), 1u);
  Rule changed = before[0];
  changed.company = "A changed";
  Rule first = rule_for("Twice 1", "100", "222"), second = rule_for("Twice 2", "100", "333");
  first.id = second.id = 900;
  auto summary = write_rules({rule_for("New", "100", "444"), changed, first, second},
                             {note_for(before[0].id, 1'700'000'000'000, "must not be stored")});
  ASSERT_FALSE(summary.ok()) << "a write naming rule 900 twice must be refused";
  EXPECT_EQ(summary.error().code, ErrorCode::invalid_argument);

  auto after = list_rules();
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after->size(), 1u) << "the refused write added rules";
  EXPECT_TRUE(same_rule(before[0], after->front())) << "the refused write changed a rule";
  auto notes = list_notes();
  ASSERT_TRUE(notes.ok()) << notes.error().message;
  EXPECT_TRUE(notes->empty()) << "the refused write stored a note";
}

TEST_P(StorageConformance, AWriteWithANoteNamingNoRuleIsRefusedAndRemovesNothing) {
  auto before = insert({rule_for("A", "100", "111"), rule_for("B", "200", "222")});
  ASSERT_EQ(before.size(), 2u);
  Note bad = note_for(0, 1'700'000'000'000, "belongs nowhere");
  auto summary = write_rules({rule_for("C", "300", "333")}, {note_for(before[0].id, 1'700'000'000'000, "fine"), bad},
                             RuleWriteMode::replace_all);
  ASSERT_FALSE(summary.ok()) << "a note with rule id 0 must be refused";
  EXPECT_EQ(summary.error().code, ErrorCode::invalid_argument);
  auto after = list_rules();
  ASSERT_TRUE(after.ok()) << after.error().message;
  ASSERT_EQ(after->size(), 2u) << "the refused replace_all removed or added rules";
  EXPECT_TRUE(same_rule(before[0], after->at(0)));
  EXPECT_TRUE(same_rule(before[1], after->at(1)));
  auto notes = list_notes();
  ASSERT_TRUE(notes.ok());
  EXPECT_TRUE(notes->empty());
}

TEST_P(StorageConformance, ANegativeRuleIdIsRefused) {
  Rule rule = rule_for("A", "100", "111");
  rule.id = -3;
  auto summary = write_rules({rule});
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::invalid_argument);
  auto after = list_rules();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST_P(StorageConformance, DeletingAnUnknownRuleIsNotFound) {
  Status status = delete_rule(424242);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::not_found);
}

// ===== notes =========================================================================================

TEST_P(StorageConformance, ANoteRoundTripsWithAndWithoutACallTime) {
  auto rules = insert({full_rule()});
  ASSERT_EQ(rules.size(), 1u);
  Note with_call = note_for(rules[0].id, 1'700'000'500'123, "called about invoice 2006/15");
  Note without_call = note_for(rules[0].id, 1'700'000'600'456, "Zákazník volal znovu.\nSecond line.");
  without_call.call_at.reset();
  auto first = add_note(with_call);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_GT(first->id, 0);
  with_call.id = first->id;
  EXPECT_TRUE(same_note(with_call, *first));
  auto second = add_note(without_call);
  ASSERT_TRUE(second.ok()) << second.error().message;
  without_call.id = second->id;
  EXPECT_NE(first->id, second->id);

  auto notes = notes_for(rules[0].id);
  ASSERT_TRUE(notes.ok()) << notes.error().message;
  ASSERT_EQ(notes->size(), 2u);
  EXPECT_TRUE(same_note(without_call, notes->at(0))) << "newest first";
  EXPECT_TRUE(same_note(with_call, notes->at(1)));
}

TEST_P(StorageConformance, ANoteWithoutASavedTimeGetsTheClock) {
  auto rules = insert({rule_for("A", "100", "111")});
  ASSERT_EQ(rules.size(), 1u);
  Note note = note_for(rules[0].id, 0, "now");
  note.saved_at = TimePoint{};
  auto added = add_note(note);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->saved_at, ctx().clock().now());
  auto notes = notes_for(rules[0].id);
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ(notes->front().saved_at, ctx().clock().now());
}

TEST_P(StorageConformance, WriteRulesStoresNotesOnceOnly) {
  auto rules = insert({rule_for("A", "100", "111")});
  ASSERT_EQ(rules.size(), 1u);
  std::int64_t id = rules[0].id;
  std::vector<Note> notes{note_for(id, 1'700'000'000'000, "first"), note_for(id, 1'700'000'100'000, "second")};
  auto summary = write_rules({rules[0]}, notes);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->notes_added, 2u);
  EXPECT_EQ(summary->notes_unchanged, 0u);

  Note same_but_other_agent = notes[0];
  same_but_other_agent.agent = "petr";  // not part of a note's identity
  Note other_operator = notes[1];
  other_operator.operator_extension = "116";
  auto again = write_rules({rules[0]}, {same_but_other_agent, notes[1], other_operator});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->notes_added, 1u);
  EXPECT_EQ(again->notes_unchanged, 2u);
  auto stored = notes_for(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 3u);

  // A note added by an agent is recognised too.
  Note typed = note_for(id, 1'700'000'200'000, "typed by hand");
  ASSERT_TRUE(add_note(typed).ok());
  auto third = write_rules({rules[0]}, {typed});
  ASSERT_TRUE(third.ok()) << third.error().message;
  EXPECT_EQ(third->notes_added, 0u);
  EXPECT_EQ(third->notes_unchanged, 1u);
}

TEST_P(StorageConformance, NotesSurviveTheirRule) {
  auto rules = insert({rule_for("A", "100", "111"), rule_for("B", "100", "222")});
  ASSERT_EQ(rules.size(), 2u);
  ASSERT_TRUE(add_note(note_for(rules[0].id, 1'700'000'000'000, "about A")).ok());
  ASSERT_TRUE(add_note(note_for(rules[1].id, 1'700'000'000'000, "about B")).ok());

  ASSERT_TRUE(delete_rule(rules[0].id).ok());
  auto gone = get_rules({rules[0].id});
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->empty());
  auto notes_a = notes_for(rules[0].id);
  ASSERT_TRUE(notes_a.ok()) << notes_a.error().message;
  ASSERT_EQ(notes_a->size(), 1u) << "delete_rule deleted the rule's notes";
  EXPECT_EQ(notes_a->front().text, "about A");

  auto replaced = write_rules({}, {}, RuleWriteMode::replace_all);
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_EQ(replaced->removed, 1u);
  auto all_notes = list_notes();
  ASSERT_TRUE(all_notes.ok());
  EXPECT_EQ(all_notes->size(), 2u) << "replace_all deleted notes";

  // A note may also be written for a rule that no longer exists (an import of history).
  auto orphan = write_rules({}, {note_for(rules[0].id, 1'700'000'900'000, "late")});
  ASSERT_TRUE(orphan.ok()) << orphan.error().message;
  EXPECT_EQ(orphan->notes_added, 1u);
}

TEST_P(StorageConformance, ListNotesOrdersByRuleThenTimeAndFiltersByProject) {
  auto rules = insert({rule_for("A", "100", "111"), rule_for("B", "200", "222"), rule_for("C", "100", "333")});
  ASSERT_EQ(rules.size(), 3u);
  // Written out of order on purpose.
  for (auto [rule, saved] : std::vector<std::pair<std::size_t, std::int64_t>>{
           {2, 1'700'000'000'300}, {0, 1'700'000'000'200}, {1, 1'700'000'000'100}, {0, 1'700'000'000'100}})
    ASSERT_TRUE(add_note(note_for(rules[rule].id, saved, "n")).ok());

  auto all = list_notes();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 4u);
  for (std::size_t i = 1; i < all->size(); ++i) {
    const auto& a = all->at(i - 1);
    const auto& b = all->at(i);
    EXPECT_TRUE(a.rule_id < b.rule_id || (a.rule_id == b.rule_id && a.saved_at <= b.saved_at))
        << "notes " << i - 1 << " and " << i << " are out of order";
  }
  auto project = list_notes(std::string("100"));
  ASSERT_TRUE(project.ok()) << project.error().message;
  std::vector<std::pair<std::int64_t, TimePoint>> expected{{rules[0].id, at_millis(1'700'000'000'100)},
                                                           {rules[0].id, at_millis(1'700'000'000'200)},
                                                           {rules[2].id, at_millis(1'700'000'000'300)}};
  std::sort(expected.begin(), expected.end());
  std::vector<std::pair<std::int64_t, TimePoint>> actual;
  for (const auto& note : *project) actual.emplace_back(note.rule_id, note.saved_at);
  EXPECT_TRUE(actual == expected) << "the notes of project 100, ordered by rule then saved_at";
  auto none = list_notes(std::string(""));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// ===== search ========================================================================================

TEST_P(StorageConformance, SearchFindsTextCaseInsensitivelyInCompanyCompanyIdCityAndNote) {
  Rule by_company = rule_for("Acme Trading", "100", "111");
  Rule by_company_id = rule_for("Other", "100", "222");
  by_company_id.company_id = "ACME-7";
  Rule by_city = rule_for("Third", "100", "333");
  by_city.city = "acmeville";
  Rule by_note = rule_for("Fourth", "100", "444");
  by_note.note = "formerly ACME";
  Rule by_street_only = rule_for("Fifth", "100", "555");
  by_street_only.street = "Acme Street";  // street is not searched
  auto stored = insert({by_company, by_company_id, by_city, by_note, by_street_only});
  ASSERT_EQ(stored.size(), 5u);
  RuleQuery query;
  query.text = "aCmE";
  auto found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), in_id_order({stored[0].id, stored[1].id, stored[2].id, stored[3].id}));
}

TEST_P(StorageConformance, SearchFoldsAccentedCapitals) {
  auto stored = insert({rule_for("ČEDOK a.s.", "100", "111"), rule_for("Řemesla Šťastný", "100", "222"),
                        rule_for("Cedok without accents", "100", "333")});
  ASSERT_EQ(stored.size(), 3u);
  RuleQuery query;
  query.text = "čedok";
  auto found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), (std::vector<std::int64_t>{stored[0].id}));
  query.text = "ŘEMESLA ŠŤ";
  found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), (std::vector<std::int64_t>{stored[1].id}));
}

TEST_P(StorageConformance, SearchTreatsWildcardCharactersLiterally) {
  auto stored = insert({rule_for("50% off", "100", "111"), rule_for("500 off", "100", "222"),
                        rule_for("a_b", "100", "333"), rule_for("axb", "100", "444")});
  ASSERT_EQ(stored.size(), 4u);
  RuleQuery query;
  query.text = "50%";
  auto found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), (std::vector<std::int64_t>{stored[0].id}));
  query.text = "a_b";
  found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), (std::vector<std::int64_t>{stored[2].id}));
}

TEST_P(StorageConformance, SearchMatchesANormalisedNumberExactlyInAnyPosition) {
  Rule first = rule_for("First", "100", "+420221123456");
  Rule second = rule_for("Second", "200", "+420000000000");
  second.callers_normalised = {"+420000000000", "", "+420221123456"};
  Rule prefix_only = rule_for("Prefix", "100", "+4202211234567");
  auto stored = insert({first, second, prefix_only});
  ASSERT_EQ(stored.size(), 3u);
  RuleQuery query;
  query.number_normalised = "+420221123456";
  auto found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), in_id_order({stored[0].id, stored[1].id}));

  query.project = "200";
  found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(ids_of(*found), (std::vector<std::int64_t>{stored[1].id}));

  query = RuleQuery{};
  query.text = "first";
  query.number_normalised = "+420000000000";  // filters combine with AND
  found = search_rules(query);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_TRUE(found->empty());
}

TEST_P(StorageConformance, SearchPagesInIdOrder) {
  std::vector<Rule> rules;
  for (int i = 0; i < 7; ++i) rules.push_back(rule_for("Company " + std::to_string(i), i % 2 ? "100" : "200", "1" + std::to_string(i)));
  auto stored = insert(rules);
  ASSERT_EQ(stored.size(), 7u);
  RuleQuery query;
  query.text = "company";
  query.offset = 2;
  query.limit = 3;
  auto page = search_rules(query);
  ASSERT_TRUE(page.ok()) << page.error().message;
  std::vector<std::int64_t> ids = in_id_order(ids_of(stored));
  EXPECT_EQ(ids_of(*page), (std::vector<std::int64_t>{ids[2], ids[3], ids[4]}));
  query.offset = 6;
  page = search_rules(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids_of(*page), (std::vector<std::int64_t>{ids[6]}));
  query = RuleQuery{};  // no filter: every rule, first page
  query.project = "100";
  page = search_rules(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 3u);
}

// ===== call log ======================================================================================

TEST_P(StorageConformance, CallRecordsRoundTripWithIncreasingSequences) {
  CallRecord answered = call_record("c-1");
  CallRecord all_busy = call_record("c-2");
  all_busy.operator_extension.clear();  // outcome 9: nobody took it
  all_busy.outcome = 9;
  all_busy.customer_id.reset();
  all_busy.caller.clear();  // withheld
  all_busy.reasons = {};
  CallRecord customer_zero = call_record("c-3");
  customer_zero.customer_id = 0;  // zero is a value, not "none"
  customer_zero.reasons = {"", "line\nbreak", "quote \" and backslash \\", "ünïcödé"};
  customer_zero.at = at_millis(1'700'000'000'999);

  auto appended = append_calls({answered, all_busy, customer_zero});
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  ASSERT_EQ(appended->size(), 3u);
  EXPECT_GT(appended->at(0).sequence, 0u);
  EXPECT_LT(appended->at(0).sequence, appended->at(1).sequence);
  EXPECT_LT(appended->at(1).sequence, appended->at(2).sequence);
  answered.sequence = appended->at(0).sequence;
  all_busy.sequence = appended->at(1).sequence;
  customer_zero.sequence = appended->at(2).sequence;
  EXPECT_TRUE(same_call(answered, appended->at(0)));

  auto read = read_calls(0, 10);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 3u);
  EXPECT_TRUE(same_call(answered, read->at(0)));
  EXPECT_TRUE(same_call(all_busy, read->at(1)));
  EXPECT_TRUE(same_call(customer_zero, read->at(2)));
}

TEST_P(StorageConformance, ReadCallsPagesOldestFirst) {
  std::vector<CallRecord> records;
  for (int i = 0; i < 5; ++i) records.push_back(call_record("c-" + std::to_string(i)));
  auto appended = append_calls(records);
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  ASSERT_EQ(appended->size(), 5u);
  auto first = read_calls(0, 2);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ(first->at(0).call_id, "c-0");
  EXPECT_EQ(first->at(1).call_id, "c-1");
  auto rest = read_calls(first->back().sequence, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ(rest->at(0).call_id, "c-2");
  EXPECT_EQ(rest->at(2).call_id, "c-4");
  auto none = read_calls(rest->back().sequence, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StorageConformance, DeletedCallSequencesAreNeverReused) {
  auto appended = append_calls({call_record("a"), call_record("b"), call_record("c")});
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  ASSERT_EQ(appended->size(), 3u);
  auto deleted = delete_calls_through(appended->at(1).sequence);
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(*deleted, 2u);
  auto left = read_calls(0, 10);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().call_id, "c");

  deleted = delete_calls_through(appended->at(2).sequence);  // the log is now empty
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 1u);
  auto later = append_calls({call_record("d")});
  ASSERT_TRUE(later.ok()) << later.error().message;
  ASSERT_EQ(later->size(), 1u);
  EXPECT_GT(later->front().sequence, appended->at(2).sequence) << "a deleted sequence was handed out again";
  deleted = delete_calls_through(0);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0u);
}

TEST_P(StorageConformance, AppendingNoCallsSucceeds) {
  auto appended = append_calls({});
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  EXPECT_TRUE(appended->empty());
}

// ===== agents and groups =============================================================================

TEST_P(StorageConformance, AnAgentRoundTripsAndIsUpdatedByName) {
  Agent jana;
  jana.name = "jana";
  jana.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  jana.extension = "114";
  jana.last_ip = "10.0.0.17";
  jana.start = at_millis(1'700'000'000'250);
  jana.may_edit_central_list = true;
  jana.call_module = true;
  jana.group = "400";
  jana.role = AgentRole::administrator;
  auto saved = save_agent(jana);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_GT(saved->id, 0);
  jana.id = saved->id;
  EXPECT_TRUE(same_agent(jana, *saved));

  auto agents = load_agents();
  ASSERT_TRUE(agents.ok()) << agents.error().message;
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_TRUE(same_agent(jana, agents->front())) << "start set and stop none must read back so";

  Agent again = jana;
  again.id = 0;  // found by name
  again.extension = "116";
  again.stop = at_millis(1'700'000'900'000);
  again.may_edit_central_list = false;
  again.may_edit_own_list = true;
  again.role = AgentRole::agent;
  auto updated = save_agent(again);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->id, jana.id) << "saving an agent of the same name must update it";
  again.id = jana.id;
  agents = load_agents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_TRUE(same_agent(again, agents->front()));
}

TEST_P(StorageConformance, AgentsAreRemovedByName) {
  for (const char* name : {"petr", "jana", "eva"}) {
    Agent a;
    a.name = name;
    a.extension = "1";
    ASSERT_TRUE(save_agent(a).ok());
  }
  ASSERT_TRUE(remove_agent("jana").ok());
  auto agents = load_agents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 2u);
  EXPECT_EQ(agents->at(0).name, "eva");
  EXPECT_EQ(agents->at(1).name, "petr");
  Status unknown = remove_agent("nobody");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);
}

TEST_P(StorageConformance, GroupsRoundTripAndAreUpdatedByNumber) {
  ASSERT_TRUE(save_group(SaGroup{"401", "Sales", 5}).ok());
  ASSERT_TRUE(save_group(SaGroup{"400", "Support", 0}).ok());
  ASSERT_TRUE(save_group(SaGroup{"401", "Sales CZ", 8}).ok());
  auto groups = load_groups();
  ASSERT_TRUE(groups.ok()) << groups.error().message;
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_TRUE(same_group(SaGroup{"400", "Support", 0}, groups->at(0)));
  EXPECT_TRUE(same_group(SaGroup{"401", "Sales CZ", 8}, groups->at(1)));
}

// ===== missed calls and audit ========================================================================

TEST_P(StorageConformance, MissedCallsRoundTripFilterAndAreMarkedDone) {
  MissedCall known;
  known.at = at_millis(1'700'000'000'042);
  known.number = "100";
  known.caller = "+420602111222";
  known.agent_extension = "114";
  known.customer_id = 12;
  MissedCall unknown_caller = known;
  unknown_caller.agent_extension = "116";
  unknown_caller.customer_id.reset();
  unknown_caller.caller.clear();
  auto first = add_missed(known);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_GT(first->id, 0);
  known.id = first->id;
  auto second = add_missed(unknown_caller);
  ASSERT_TRUE(second.ok()) << second.error().message;
  unknown_caller.id = second->id;
  EXPECT_NE(known.id, unknown_caller.id);

  auto find = [](const std::vector<MissedCall>& calls, std::int64_t id) {
    auto it = std::find_if(calls.begin(), calls.end(), [id](const MissedCall& c) { return c.id == id; });
    return it == calls.end() ? MissedCall{} : *it;
  };
  auto all = list_missed();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE(same_missed(known, find(*all, known.id)));
  EXPECT_TRUE(same_missed(unknown_caller, find(*all, unknown_caller.id)));
  auto for_116 = list_missed(std::string("116"));
  ASSERT_TRUE(for_116.ok());
  ASSERT_EQ(for_116->size(), 1u);
  EXPECT_EQ(for_116->front().id, unknown_caller.id);

  ASSERT_TRUE(mark_missed_done(known.id).ok());
  all = list_missed();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_TRUE(find(*all, known.id).done);
  EXPECT_FALSE(find(*all, unknown_caller.id).done);
  Status missing = mark_missed_done(987654);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST_P(StorageConformance, AuditRecordsAreAccepted) {
  AuditRecord record;
  record.at = at_millis(1'700'000'000'000);
  record.instance = "hicom-main";
  record.actor = "cli";
  record.command = "EINRICHTEN-WABE:401,,,SAESPR,NEIN,,,,,,,,;";
  record.result = "ok";
  record.ok = true;
  AuditRecord refused = record;
  refused.result = "AMO refused: syntax error";
  refused.ok = false;
  EXPECT_TRUE(append_audit({record, refused}).ok());
  EXPECT_TRUE(append_audit({}).ok());
}

}  // namespace switchboard::sdk::testing
