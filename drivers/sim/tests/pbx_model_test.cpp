// The model on its own, as a CSTA simulator would use it: its own scheduler and sink, no driver.
#include "pbx_model.hpp"

#include <gtest/gtest.h>

#include "switchboard/sdk/testing/fake_context.hpp"

namespace sdk = switchboard::sdk;
namespace sim = switchboard::sim;
using namespace std::chrono_literals;

namespace {

// Time from the FakeContext's manual clock, nothing else of it.
class ManualScheduler final : public sim::Scheduler {
 public:
  explicit ManualScheduler(sdk::testing::FakeContext& ctx) : ctx_(ctx) {}
  std::unique_ptr<sim::ScheduledTask> schedule(sim::Duration delay, std::function<void()> task) override {
    return ctx_.call_after(delay, std::move(task));
  }
  sdk::TimePoint now() const override { return ctx_.clock().now(); }

 private:
  sdk::testing::FakeContext& ctx_;
};

struct Model {
  explicit Model(sim::PbxModelSettings settings = quiet())
      : scheduler(ctx), model(settings, scheduler, [this](const sim::PbxModel::EventMaker& make) {
          events.push_back(make());
          log.push_back(describe(events.back()));
        }) {
    model.set_projects({"100"});
    model.add_devices({"100", "114", "115"});
    log.clear();
    events.clear();
  }

  // 114, 115 and 116 in hunt group 401 (117 is no device); the log starts empty again.
  void add_group() {
    model.add_devices({"116"});
    model.set_hunt_group("401", {"114", "115", "116", "117"});
    log.clear();
    events.clear();
  }
  std::vector<sdk::CallEvent> call_events() const {
    std::vector<sdk::CallEvent> out;
    for (const auto& e : events)
      if (const auto* c = std::get_if<sdk::CallEvent>(&e)) out.push_back(*c);
    return out;
  }

  // No arrivals of its own; operators answer after 5s and talk 30s.
  static sim::PbxModelSettings quiet() {
    sim::PbxModelSettings s;
    s.calls_per_minute = 0;
    s.offline_operators = 0;
    s.answer_probability = 1;
    s.answer_delay_min = s.answer_delay_max = 5s;
    s.talk_time_min = s.talk_time_max = 30s;
    s.abandon_min = s.abandon_max = 10min;
    return s;
  }

  static std::string describe(const sdk::Event& e) {
    if (const auto* c = std::get_if<sdk::CallEvent>(&e)) {
      static const char* names[] = {"delivered", "established", "cleared",   "diverted",
                                    "failed",    "transferred", "originated"};
      return std::string(names[static_cast<int>(c->type)]) + " " + c->connection.call_id + "@" + c->connection.device;
    }
    const auto& d = std::get<sdk::DeviceEvent>(e);
    static const char* states[] = {"unknown", "idle", "ringing", "busy", "offline"};
    return d.device + " " + states[static_cast<int>(d.state)];
  }

  sdk::testing::FakeContext ctx;
  ManualScheduler scheduler;
  std::vector<std::string> log;
  std::vector<sdk::Event> events;
  sim::PbxModel model;
};

}  // namespace

TEST(PbxModel, CarriesACallFromOfferToClearing) {
  Model m;
  auto id = m.model.offer_call("100", "0602123456");
  ASSERT_EQ(id, "sim-1");
  m.model.deflect({*id, "100"}, "114", [&](sdk::Status s) {
    EXPECT_TRUE(s.ok());
    m.log.push_back("deflect answered");
  });
  m.ctx.advance(5s);
  m.ctx.advance(30s);
  EXPECT_EQ(m.log, (std::vector<std::string>{"delivered sim-1@100", "deflect answered", "diverted sim-1@100",
                                             "delivered sim-1@114", "114 ringing", "established sim-1@114",
                                             "114 busy", "cleared sim-1@114", "114 idle"}));
  EXPECT_EQ(m.model.active_calls(), 0u);
}

TEST(PbxModel, OffersCallsOnlyOnProjectNumbers) {
  Model m;
  EXPECT_FALSE(m.model.offer_call("114", "0602123456"));
  EXPECT_FALSE(m.model.offer_call("555", ""));
  EXPECT_TRUE(m.log.empty());
}

TEST(PbxModel, LogsOperatorsInAndOut) {
  Model m;
  EXPECT_TRUE(m.model.set_logged_in("115", false));
  EXPECT_EQ(m.model.offline_operators(), std::vector<std::string>{"115"});
  auto id = m.model.offer_call("100", "");
  sdk::Status result;
  m.model.deflect({*id, "100"}, "115", [&](sdk::Status s) { result = s; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::unavailable);
  EXPECT_TRUE(m.model.set_logged_in("115", true));
  EXPECT_FALSE(m.model.set_logged_in("100", false)) << "a project number has no operator to log out";
  EXPECT_EQ(m.log, (std::vector<std::string>{"115 offline", "delivered sim-1@100", "115 idle"}));
}

TEST(PbxModel, LogsOutTheSameShareWhetherOperatorsComeAtOnceOrOneByOne) {
  auto settings = Model::quiet();
  settings.offline_operators = 0.25;
  Model at_once(settings), one_by_one(settings);  // each already has 114 and 115
  std::vector<std::string> more{"201", "202", "203", "204", "205", "206", "207", "208"};
  at_once.model.add_devices(more);
  for (const auto& number : more) one_by_one.model.add_devices({number});
  EXPECT_EQ(at_once.model.offline_operators().size(), 3u) << "a quarter of ten, rounded";
  EXPECT_EQ(one_by_one.model.offline_operators().size(), 3u);
}

TEST(PbxModel, StopForgetsCallsAndCancelsTimersButKeepsIdsUnique) {
  Model m;
  auto first = m.model.offer_call("100", "0602123456");
  m.model.deflect({*first, "100"}, "114", [](sdk::Status) {});
  ASSERT_GT(m.ctx.pending_timers(), 0u);
  m.model.stop();
  EXPECT_EQ(m.ctx.pending_timers(), 0u);
  EXPECT_EQ(m.model.active_calls(), 0u);
  EXPECT_EQ(m.model.snapshot("114")->state, sdk::DeviceState::idle);
  EXPECT_EQ(m.model.offer_call("100", ""), "sim-2");
}

TEST(PbxModel, RandomStreamsRepeatForASeedAndStayInRange) {
  sim::RandomStream a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    auto x = a.between(2s, 8s);
    EXPECT_EQ(x, b.between(2s, 8s));
    differs = differs || x != c.between(2s, 8s);
    EXPECT_GE(x, 2s);
    EXPECT_LE(x, 8s);
  }
  EXPECT_TRUE(differs);
}

TEST(PbxModel, AnOperatorDialsAFeatureCodeAndStaysBusyUntilItIsCleared) {
  Model m;
  auto id = m.model.dial("114", "401");
  ASSERT_EQ(id, "sim-1");
  ASSERT_EQ(m.call_events().size(), 1u);
  auto originated = m.call_events()[0];
  EXPECT_EQ(originated.type, sdk::CallEventType::originated);
  EXPECT_EQ(originated.calling, "114");
  EXPECT_EQ(originated.called, "401");
  EXPECT_EQ(originated.other_device, "114");
  EXPECT_EQ(originated.local_state, sdk::ConnectionState::initiated);
  auto snapshot = m.model.snapshot("114");
  EXPECT_EQ(snapshot->state, sdk::DeviceState::busy);
  ASSERT_EQ(snapshot->states.size(), 1u);
  EXPECT_EQ(snapshot->states[0], sdk::ConnectionState::initiated);

  EXPECT_FALSE(m.model.dial("114", "402")) << "it has a call already";
  EXPECT_FALSE(m.model.dial("100", "401")) << "a project dials nothing";
  EXPECT_FALSE(m.model.dial("999", "401")) << "no such device";
  m.model.set_logged_in("115", false);
  EXPECT_FALSE(m.model.dial("115", "401")) << "logged out";

  // Its call is neither alerting nor answered: it can be cleared, not moved.
  sdk::Status moved;
  m.model.deflect({*id, "114"}, "100", [&](sdk::Status s) { moved = s; });
  EXPECT_EQ(moved.error().code, sdk::ErrorCode::refused);
  m.model.transfer({*id, "114"}, "100", [&](sdk::Status s) { moved = s; });
  EXPECT_EQ(moved.error().code, sdk::ErrorCode::refused);
  sdk::Status cleared;
  m.model.clear({*id, "114"}, [&](sdk::Status s) { cleared = s; });
  EXPECT_TRUE(cleared.ok());
  EXPECT_EQ(m.log, (std::vector<std::string>{"originated sim-1@114", "114 busy", "115 offline",
                                             "cleared sim-1@114", "114 idle"}));
  EXPECT_EQ(m.model.active_calls(), 0u);
}

TEST(PbxModel, ScriptedDialsRunFromEveryStart) {
  auto settings = Model::quiet();
  settings.dials = {{3s, "114", "401"}, {4s, "114", "402"}};  // the second finds 114 busy
  Model m(settings);
  m.model.start();
  m.ctx.advance(2900ms);
  EXPECT_TRUE(m.log.empty());
  m.ctx.advance(2s);
  EXPECT_EQ(m.log, (std::vector<std::string>{"originated sim-1@114", "114 busy"}));
  m.model.stop();  // 114's call goes with it
  m.log.clear();
  m.model.start();
  m.ctx.advance(3s);
  EXPECT_EQ(m.log, (std::vector<std::string>{"originated sim-2@114", "114 busy"}));
}

TEST(PbxModel, AHuntGroupRingsEveryFreeJoinedMemberAndTheFirstToAnswerGetsTheCall) {
  Model m;
  m.add_group();
  EXPECT_TRUE(m.model.set_group_member("401", "116", false));
  EXPECT_EQ(m.model.operators(), (std::vector<std::string>{"114", "115", "116"})) << "401 is no operator";
  auto id = m.model.offer_call("100", "0602123456");
  sdk::Status result;
  m.model.deflect({*id, "100"}, "401", [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(m.model.snapshot("115")->calls.size(), 1u);
  EXPECT_TRUE(m.model.snapshot("401")->calls.empty()) << "the group holds no call of its own";
  m.ctx.advance(5s);  // every member answers after 5s: the first rung (114) is first
  m.ctx.advance(30s);
  EXPECT_EQ(m.log, (std::vector<std::string>{"delivered sim-1@100", "diverted sim-1@100", "delivered sim-1@114",
                                             "delivered sim-1@115", "114 ringing", "115 ringing",
                                             "established sim-1@114", "114 busy", "cleared sim-1@115", "115 idle",
                                             "cleared sim-1@114", "114 idle"}));
  auto events = m.call_events();
  EXPECT_EQ(events[1].other_device, "401");
  EXPECT_EQ(events[3].redirecting, "100");
  EXPECT_EQ(events[3].called, "100");
  EXPECT_EQ(events[3].cause, "redirected");
  EXPECT_EQ(events[5].cause, "normal_clearing");
}

TEST(PbxModel, AHuntGroupWithoutAFreeMemberAnswersBusy) {
  Model m;
  m.add_group();
  m.model.set_logged_in("116", false);
  m.model.dial("114", "402");
  EXPECT_TRUE(m.model.set_group_member("401", "115", false));
  EXPECT_FALSE(m.model.set_group_member("401", "100", true)) << "not a member";
  EXPECT_FALSE(m.model.set_group_member("499", "114", true)) << "no such group";
  auto id = m.model.offer_call("100", "");
  sdk::Status result;
  m.model.deflect({*id, "100"}, "401", [&](sdk::Status s) { result = s; });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, sdk::ErrorCode::busy);
  // 115 joins again: now it rings there alone.
  EXPECT_TRUE(m.model.set_group_member("401", "115", true));
  m.model.deflect({*id, "100"}, "401", [&](sdk::Status s) { result = s; });
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(m.model.snapshot("115")->state, sdk::DeviceState::ringing);
  EXPECT_EQ(m.model.groups_of("115"), std::vector<std::string>{"401"});
}

TEST(PbxModel, ACallRingingAtAGroupLeavesEveryMemberWhenMovedOrCleared) {
  auto settings = Model::quiet();
  settings.answer_probability = 0;
  Model m(settings);
  m.add_group();
  auto id = m.model.offer_call("100", "");
  m.model.deflect({*id, "100"}, "401", [](sdk::Status) {});
  m.log.clear();
  sdk::Status result;
  // From any member it rings at: the engine knows the last Delivered.
  m.model.deflect({*id, "116"}, "100", [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(m.log, (std::vector<std::string>{"diverted sim-1@116", "diverted sim-1@114", "diverted sim-1@115",
                                             "delivered sim-1@100", "116 idle", "114 idle", "115 idle"}));
  m.model.deflect({*id, "100"}, "401", [](sdk::Status) {});
  m.log.clear();
  m.model.clear({*id, "115"}, [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(m.log, (std::vector<std::string>{"cleared sim-1@114", "114 idle", "cleared sim-1@115", "115 idle",
                                             "cleared sim-1@116", "116 idle"}));
  EXPECT_EQ(m.model.active_calls(), 0u);
}

TEST(PbxModel, RingAllIsTheSameForTheSameSeed) {
  auto run = [] {
    auto settings = Model::quiet();
    settings.answer_probability = 0.5;
    settings.answer_delay_min = 1s;
    settings.answer_delay_max = 9s;
    Model m(settings);
    m.add_group();
    for (int i = 0; i < 20; ++i) {
      auto id = m.model.offer_call("100", "");
      m.model.deflect({*id, "100"}, "401", [](sdk::Status) {});
      m.ctx.advance(60s);
    }
    return m.log;
  };
  EXPECT_EQ(run(), run());
}
