// The csta driver against a scripted switch over a real loopback socket. Time is the FakeContext's
// manual clock, so keep-alives, timeouts and backoff are exact; the socket is real.
#include "csta_driver.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "switchboard/sdk/routing.hpp"
#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
namespace csta = switchboard::csta;
namespace asio = sdk::asio;
using csta::Message;
using csta::MessageKind;
using sdk::ConfigNode;
using switchboard::drivers::csta_driver::CstaDriver;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

sdk::FactoryFor<CstaDriver> factory("csta", "test");

using Keys = std::vector<std::pair<std::string, ConfigNode>>;

ConfigNode config(std::uint16_t port, const Keys& overrides = {}) {
  std::map<std::string, ConfigNode> keys{{"host", ConfigNode("127.0.0.1")},
                                         {"port", ConfigNode(std::to_string(port))},
                                         {"heartbeat_interval", ConfigNode("1s")},
                                         {"heartbeat_misses", ConfigNode("3")},
                                         {"reconnect_initial", ConfigNode("500ms")},
                                         {"reconnect_jitter", ConfigNode("0")}};
  for (const auto& [key, value] : overrides) keys[key] = value;
  std::vector<ConfigNode::Entry> entries;
  for (const auto& [key, value] : keys) entries.push_back({key, {}, value});
  return ConfigNode::map(std::move(entries));
}

struct Received {
  std::uint16_t invoke_id = 0;
  Message message;
};

// The switch side: accepts the driver's connection and speaks frames. Every wait pumps the driver's
// context, so both ends progress in this one thread.
class ScriptedSwitch {
 public:
  explicit ScriptedSwitch(sdk::testing::FakeContext& ctx)
      : ctx_(ctx), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    acceptor_.non_blocking(true);
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  bool accept(std::chrono::milliseconds limit = 3s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      ctx_.run();
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (!ec) {
        socket_ = std::make_unique<tcp::socket>(std::move(socket));
        socket_->non_blocking(true);
        decoder_.reset();
        return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

  // The next frame from the driver, decoded; nothing when none came within the limit or the peer closed.
  std::optional<Received> next(std::chrono::milliseconds limit = 3s) {
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto frame = decoder_.next()) {
        auto message = csta::decode_message(frame->body);
        EXPECT_TRUE(message.ok());
        if (!message) return std::nullopt;
        return Received{frame->invoke_id, *message};
      }
      if (std::chrono::steady_clock::now() >= until || !socket_) return std::nullopt;
      ctx_.run();
      char buffer[65536];
      boost::system::error_code ec;
      auto n = socket_->read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(200us);
        continue;
      }
      if (ec) {
        closed_ = true;
        return std::nullopt;
      }
      decoder_.feed(std::string_view(buffer, n));
    }
  }
  // The next frame of `kind`, answering keep-alives on the way.
  std::optional<Received> expect(MessageKind kind, std::chrono::milliseconds limit = 3s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto got = next(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
      if (!got) return std::nullopt;
      if (got->message.kind == kind) return got;
      if (got->message.kind == MessageKind::system_status) reply(got->invoke_id, MessageKind::system_status_response);
    }
    return std::nullopt;
  }
  // True when the driver closed its end.
  bool peer_closed(std::chrono::milliseconds limit = 3s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < until) next(5ms);
    return closed_;
  }

  void send(std::uint16_t invoke_id, const Message& message) {
    auto body = csta::encode_message(message);
    ASSERT_TRUE(body.ok()) << body.error().message;
    send_raw(*csta::encode_frame(invoke_id, *body));
  }
  void send_raw(const std::string& bytes) {
    socket_->non_blocking(false);
    asio::write(*socket_, asio::buffer(bytes));
    socket_->non_blocking(true);
  }
  void reply(std::uint16_t invoke_id, MessageKind kind) {
    Message m;
    m.kind = kind;
    send(invoke_id, m);
  }
  // A negative answer: CSTAErrorCode operation/`value`.
  void refuse(std::uint16_t invoke_id, const std::string& value) {
    Message error;
    error.kind = MessageKind::csta_error_code;
    error.error_category = "operation";
    error.error_value = value;
    send(invoke_id, error);
  }
  void event(const Message& message) { send(csta::kEventInvokeId, message); }
  void drop() {
    socket_.reset();
    closed_ = false;
  }

  // Answers MonitorStart with crossRef "x<device>" and SnapshotDevice with `calls` at that device, until
  // `devices` monitors are set up.
  void serve_monitors(std::size_t devices, const std::map<std::string, std::vector<csta::SnapshotEntry>>& calls = {}) {
    for (std::size_t answered = 0; answered < devices * 2;) {
      auto got = next();
      ASSERT_TRUE(got) << "the driver stopped asking after " << answered << " answers";
      Message answer;
      if (got->message.kind == MessageKind::monitor_start) {
        answer.kind = MessageKind::monitor_start_response;
        answer.monitor_cross_ref_id = "x" + got->message.device_id;
        monitored.push_back(got->message.device_id);
      } else if (got->message.kind == MessageKind::snapshot_device) {
        answer.kind = MessageKind::snapshot_device_response;
        if (auto it = calls.find(got->message.device_id); it != calls.end()) answer.snapshot = it->second;
      } else if (got->message.kind == MessageKind::system_status) {
        answer.kind = MessageKind::system_status_response;
        --answered;
      } else {
        ADD_FAILURE() << "unexpected " << csta::to_string(got->message.kind);
        continue;
      }
      send(got->invoke_id, answer);
      ++answered;
    }
  }

  std::vector<std::string> monitored;

 private:
  sdk::testing::FakeContext& ctx_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::unique_ptr<tcp::socket> socket_;
  csta::FrameDecoder decoder_;
  bool closed_ = false;
};

struct Harness {
  explicit Harness(const Keys& extra = {}) : ctx("pbx", sdk::Category::driver), pbx(ctx) {
    driver = std::make_unique<CstaDriver>(ctx, sdk::testing::settings_for(factory, config(pbx.port(), extra)));
  }
  ~Harness() {
    driver->stop([](sdk::Status) {});
    ctx.run();
  }

  void start(std::vector<std::string> devices = {"100", "114", "115"}) {
    driver->monitor(devices, [](sdk::Status) {});
    driver->start([](sdk::Status) {});
    ASSERT_TRUE(pbx.accept());
  }
  // Start and answer every monitor: the link is up afterwards.
  void bring_up(std::vector<std::string> devices = {"100", "114", "115"},
                const std::map<std::string, std::vector<csta::SnapshotEntry>>& calls = {}) {
    start(devices);
    pbx.serve_monitors(devices.size(), calls);
    pump_until([&] { return link_events().size() == 1; });
    ASSERT_EQ(link_events().size(), 1u);
    ASSERT_TRUE(link_events().back().up);
  }
  template <class Predicate>
  void pump_until(Predicate done, std::chrono::milliseconds limit = 2s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) {
      ctx.run();
      std::this_thread::sleep_for(200us);
    }
  }

  std::vector<sdk::LinkEvent> link_events() const { return of<sdk::LinkEvent>(); }
  std::vector<sdk::CallEvent> call_events() const { return of<sdk::CallEvent>(); }
  std::vector<sdk::DeviceEvent> device_events() const { return of<sdk::DeviceEvent>(); }
  template <class T>
  std::vector<T> of() const {
    std::vector<T> out;
    for (const auto& e : ctx.published())
      if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
    return out;
  }

  // Runs a request of the driver's and returns its completion once it ran.
  template <class Call>
  std::optional<sdk::Status> complete(Call call, std::function<void()> switch_side) {
    std::optional<sdk::Status> result;
    call([&](sdk::Status s) { result = s; });
    switch_side();
    pump_until([&] { return result.has_value(); });
    return result;
  }

  sdk::testing::FakeContext ctx;
  ScriptedSwitch pbx;
  std::unique_ptr<CstaDriver> driver;
};

Message delivered_at(const std::string& device, const std::string& call, const std::string& caller) {
  Message m;
  m.kind = MessageKind::delivered;
  m.monitor_cross_ref_id = "x" + device;
  m.connection = {call, device};
  m.alerting_device = device;
  m.calling_device = caller;
  m.called_device = device;
  m.local_connection_info = sdk::ConnectionState::alerting;
  m.cause = "new_call";
  return m;
}

}  // namespace

TEST(CstaDriver, PassesTheConfigConformance) {
  sdk::testing::expect_config_conformance(factory, ConfigNode::map({{"host", {}, ConfigNode("pbx.example")},
                                                                    {"port", {}, ConfigNode("2205")}}));
}

TEST(CstaDriver, PassesTheLifecycleConformance) {
  // Port 1 on loopback refuses: the driver must start, keep retrying and stop cleanly anyway.
  sdk::testing::expect_lifecycle_conformance(factory, config(1));
}

TEST(CstaDriver, RejectsContradictorySettings) {
  auto errors = sdk::testing::validation_errors(
      factory, config(2205, {{"reconnect_initial", ConfigNode("60s")}, {"reconnect_max", ConfigNode("10s")},
                             {"routeing_devices", ConfigNode::list({"100"})}}));
  ASSERT_EQ(errors.size(), 2u) << (errors.empty() ? "" : errors[0]);
  EXPECT_NE(errors[0].find("reconnect_initial"), std::string::npos);
  EXPECT_NE(errors[1].find("routeing_devices"), std::string::npos);
}

TEST(CstaDriver, MonitorsEachDeviceOnceAndReportsLinkUpAfterTheSnapshots) {
  Harness h;
  h.start({"100", "114", "115", "114"});
  // Nothing is reported before every monitor is back.
  EXPECT_TRUE(h.link_events().empty());
  h.pbx.serve_monitors(3, {{"115", {{{"c9", "115"}, sdk::ConnectionState::connected}}}});
  h.pump_until([&] { return !h.link_events().empty(); });
  ASSERT_EQ(h.link_events().size(), 1u);
  EXPECT_TRUE(h.link_events()[0].up);
  EXPECT_EQ(h.pbx.monitored, (std::vector<std::string>{"100", "114", "115"}));
  auto devices = h.device_events();
  ASSERT_EQ(devices.size(), 3u);
  std::map<std::string, sdk::DeviceState> states;
  for (const auto& d : devices) states[d.device] = d.state;
  EXPECT_EQ(states["114"], sdk::DeviceState::idle);
  EXPECT_EQ(states["115"], sdk::DeviceState::busy);
  EXPECT_EQ(devices[0].driver, "pbx");
}

TEST(CstaDriver, StartsTheApplicationSessionWithItsCredentialsFirst) {
  auto session = ConfigNode::map({{"application_id", {}, ConfigNode("cc-router")},
                                  {"user", {}, ConfigNode("cti")},
                                  {"password", {}, ConfigNode("s3cret")}});
  Harness h({{"session", session}, {"heartbeat_interval", ConfigNode("60s")}});
  h.start({"114"});
  auto start = h.pbx.next();
  ASSERT_TRUE(start);
  ASSERT_EQ(start->message.kind, MessageKind::start_application_session);
  EXPECT_EQ(start->message.application_id, "cc-router");
  EXPECT_EQ(start->message.user, "cti");
  EXPECT_EQ(start->message.password, "s3cret");
  Message pos;
  pos.kind = MessageKind::start_application_session_pos_response;
  pos.session_id = "S-1";
  pos.session_duration = "60";
  h.pbx.send(start->invoke_id, pos);
  h.pbx.serve_monitors(1);
  h.pump_until([&] { return !h.link_events().empty(); });
  ASSERT_EQ(h.link_events().size(), 1u);
  // Renewed at half the granted duration.
  h.ctx.advance(30s);
  auto renewal = h.pbx.expect(MessageKind::reset_application_session_timer);
  ASSERT_TRUE(renewal);
  EXPECT_EQ(renewal->message.session_id, "S-1");
}

TEST(CstaDriver, ARefusedSessionIsReportedAndRetriedWithBackoff) {
  Harness h({{"session", ConfigNode::map({{"application_id", {}, ConfigNode("cc-router")}})}});
  h.start({"114"});
  auto start = h.pbx.next();
  ASSERT_TRUE(start);
  Message neg;
  neg.kind = MessageKind::start_application_session_neg_response;
  neg.error_category = "definedError";
  neg.error_value = "invalidApplicationCorrelator";
  h.pbx.send(start->invoke_id, neg);
  h.pump_until([&] { return !h.link_events().empty(); });
  ASSERT_EQ(h.link_events().size(), 1u);
  EXPECT_FALSE(h.link_events()[0].up);
  EXPECT_NE(h.link_events()[0].detail.find("invalidApplicationCorrelator"), std::string::npos);
  EXPECT_TRUE(h.ctx.logger().contains("fix=\"check session.application_id"));
  EXPECT_TRUE(h.pbx.peer_closed());
  // No reconnect before the backoff, one right after it.
  h.ctx.advance(400ms);
  EXPECT_FALSE(h.pbx.accept(50ms));
  h.ctx.advance(100ms);
  EXPECT_TRUE(h.pbx.accept());
  EXPECT_TRUE(h.pbx.expect(MessageKind::start_application_session));
}

TEST(CstaDriver, AnswersTheSwitchsOwnPollsWithTheSameInvokeId) {
  Harness h;
  h.bring_up({"114"});
  Message poll;
  poll.kind = MessageKind::system_status;
  poll.system_status = "normal";
  h.pbx.send(4711 % 9999, poll);
  auto answer = h.pbx.expect(MessageKind::system_status_response);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->invoke_id, 4711);
  // A request it does not know gets a negative answer, not silence.
  Message odd;
  odd.kind = MessageKind::monitor_stop;
  odd.monitor_cross_ref_id = "x";
  h.pbx.send(12, odd);
  auto error = h.pbx.expect(MessageKind::csta_error_code);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->invoke_id, 12);
}

TEST(CstaDriver, PublishesCallEventsWithNormalisedDevicesAndTracksBusyIdle) {
  Harness h;
  h.bring_up({"100", "114"});
  auto before = h.device_events().size();
  auto delivered = delivered_at("N<114>;noa=unknown", "c1", "N<+420602123456>;displayNumber=Novak");
  delivered.monitor_cross_ref_id = "x114";
  h.pbx.event(delivered);
  h.pump_until([&] { return h.call_events().size() == 1; });
  ASSERT_EQ(h.call_events().size(), 1u);
  auto e = h.call_events()[0];
  EXPECT_EQ(e.type, sdk::CallEventType::delivered);
  EXPECT_EQ(e.connection.call_id, "c1");
  EXPECT_EQ(e.connection.device, "114");
  EXPECT_EQ(e.calling, "+420602123456");
  EXPECT_EQ(e.cause, "new_call");
  EXPECT_EQ(e.driver, "pbx");
  h.pump_until([&] { return h.device_events().size() > before; });
  ASSERT_GT(h.device_events().size(), before);
  EXPECT_EQ(h.device_events().back().device, "114");
  EXPECT_EQ(h.device_events().back().state, sdk::DeviceState::ringing);

  Message established;
  established.kind = MessageKind::established;
  established.monitor_cross_ref_id = "x114";
  established.connection = {"c1", "N<114>;noa=unknown"};
  established.answering_device = "114";
  h.pbx.event(established);
  h.pump_until([&] { return h.device_events().back().state == sdk::DeviceState::busy; });
  EXPECT_EQ(h.device_events().back().state, sdk::DeviceState::busy);

  // An answered call moves by single-step transfer, with the device id in the switch's own form.
  auto moved = h.complete([&](auto done) { h.driver->deflect({"c1", "114"}, "115", done); }, [&] {
    auto request = h.pbx.expect(MessageKind::single_step_transfer_call);
    ASSERT_TRUE(request);
    EXPECT_EQ(request->message.connection.device, "N<114>;noa=unknown");
    EXPECT_EQ(request->message.new_destination, "115");
    h.pbx.reply(request->invoke_id, MessageKind::single_step_transfer_call_response);
  });
  ASSERT_TRUE(moved && moved->ok());

  Message cleared;
  cleared.kind = MessageKind::connection_cleared;
  cleared.monitor_cross_ref_id = "x114";
  cleared.connection = {"c1", "114"};
  cleared.releasing_device = "114";
  h.pbx.event(cleared);
  h.pump_until([&] { return h.device_events().back().state == sdk::DeviceState::idle; });
  EXPECT_EQ(h.device_events().back().state, sdk::DeviceState::idle);
}

TEST(CstaDriver, DeflectsAnAlertingCallAndMapsNegativeAnswers) {
  Harness h;
  h.bring_up({"100", "114"});
  h.pbx.event(delivered_at("100", "c7", "0602123456"));
  h.pump_until([&] { return h.call_events().size() == 1; });

  auto ok = h.complete([&](auto done) { h.driver->deflect({"c7", "100"}, "114", done); }, [&] {
    auto request = h.pbx.expect(MessageKind::deflect_call);
    ASSERT_TRUE(request);
    EXPECT_EQ(request->message.connection.call_id, "c7");
    EXPECT_EQ(request->message.connection.device, "100");
    EXPECT_EQ(request->message.new_destination, "114");
    h.pbx.reply(request->invoke_id, MessageKind::deflect_call_response);
  });
  ASSERT_TRUE(ok && ok->ok());

  const std::vector<std::pair<std::string, sdk::ErrorCode>> answers{
      {"resourceBusy", sdk::ErrorCode::busy},
      {"invalidDestination", sdk::ErrorCode::unavailable},
      {"invalidConnectionState", sdk::ErrorCode::refused}};
  for (const auto& [value, code] : answers) {
    auto refused = h.complete([&](auto done) { h.driver->deflect({"c7", "100"}, "115", done); }, [&] {
      auto request = h.pbx.expect(MessageKind::deflect_call);
      ASSERT_TRUE(request);
      h.pbx.refuse(request->invoke_id, value);
    });
    ASSERT_TRUE(refused);
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().code, code) << value;
    EXPECT_NE(refused->error().message.find(value), std::string::npos);
  }
}

TEST(CstaDriver, ARequestWithoutAnswerTimesOut) {
  Harness h({{"request_timeout", ConfigNode("2s")}, {"heartbeat_interval", ConfigNode("10s")}});
  h.bring_up({"100"});
  std::optional<sdk::Status> result;
  h.driver->deflect({"c1", "100"}, "114", [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(h.pbx.expect(MessageKind::deflect_call));
  h.ctx.advance(1900ms);
  EXPECT_FALSE(result);
  h.ctx.advance(100ms);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error().code, sdk::ErrorCode::timeout);
}

// 9999 unanswered requests hold every invokeID: the next ones wait for an id, in order, and go out as answers
// free ids (a switch that lagged and answers in a burst loses no call); beyond that queue they are refused.
TEST(CstaDriver, WhenEveryInvokeIdWaitsTheNextRequestsWaitForAnId) {
  Harness h({{"request_timeout", ConfigNode("1h")}, {"heartbeat_interval", ConfigNode("1h")}});
  h.bring_up({"100"});
  std::size_t succeeded = 0;
  for (int i = 0; i < 9999; ++i)
    h.driver->deflect({"c" + std::to_string(i), "100"}, "114", [&](sdk::Status s) { succeeded += s.ok(); });
  std::optional<sdk::Status> late;
  h.driver->deflect({"late", "100"}, "114", [&](sdk::Status s) { late = s; });
  EXPECT_FALSE(late) << "waits for an invokeID instead of being refused";
  // The switch answers everything it receives, in order; the late request is among it once an id is free.
  std::size_t received = 0;
  bool late_sent = false;
  while (auto request = h.pbx.expect(MessageKind::deflect_call, 2s)) {
    ++received;
    late_sent = late_sent || request->message.connection.call_id == "late";
    h.pbx.reply(request->invoke_id, MessageKind::deflect_call_response);
    if (received == 10'000) break;
  }
  EXPECT_EQ(received, 10'000u);
  EXPECT_TRUE(late_sent);
  h.pump_until([&] { return succeeded == 9999 && late; }, 5s);
  EXPECT_EQ(succeeded, 9999u);
  ASSERT_TRUE(late);
  EXPECT_TRUE(late->ok()) << late->error().message;
}

TEST(CstaDriver, BeyondTheRequestsWaitingForAnIdTheNextIsRefusedAsBusy) {
  Harness h({{"request_timeout", ConfigNode("1h")}, {"heartbeat_interval", ConfigNode("1h")}});
  h.bring_up({"100"});
  std::size_t answered = 0;
  for (int i = 0; i < 9999 + 10'000; ++i)
    h.driver->deflect({"c" + std::to_string(i), "100"}, "114", [&](sdk::Status) { ++answered; });
  std::optional<sdk::Status> refused;
  h.driver->deflect({"one too many", "100"}, "114", [&](sdk::Status s) { refused = s; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->error().code, sdk::ErrorCode::busy);
  EXPECT_NE(refused->error().message.find("9999 requests"), std::string::npos) << refused->error().message;
  EXPECT_EQ(answered, 0u);
}

TEST(CstaDriver, ASilentSwitchIsDetectedWithinTheKeepAliveMisses) {
  Harness h;  // 1s interval, 3 misses
  h.bring_up({"100"});
  // Healthy: keep-alives answered for a while.
  for (int i = 0; i < 5; ++i) {
    h.ctx.advance(1s);
    auto keep_alive = h.pbx.expect(MessageKind::system_status);
    ASSERT_TRUE(keep_alive) << i;
    h.pbx.reply(keep_alive->invoke_id, MessageKind::system_status_response);
    h.pump_until([] { return false; }, 5ms);
  }
  ASSERT_EQ(h.link_events().size(), 1u);
  // Silent from now on: down after three intervals, not before.
  h.ctx.advance(2800ms);
  EXPECT_EQ(h.link_events().size(), 1u);
  h.ctx.advance(300ms);
  ASSERT_EQ(h.link_events().size(), 2u);
  EXPECT_FALSE(h.link_events()[1].up);
  EXPECT_NE(h.link_events()[1].detail.find("keep-alive"), std::string::npos);
  // Calls are not routed into a dead link.
  std::optional<sdk::Status> result;
  h.driver->deflect({"c1", "100"}, "114", [&](sdk::Status s) { result = s; });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->error().code, sdk::ErrorCode::unavailable);
}

TEST(CstaDriver, AMalformedFrameResetsTheLinkThenEveryMonitorIsRecreated) {
  Harness h;
  h.bring_up({"100", "114"});
  h.pbx.send_raw(std::string("\x01\x02\x00\x10" "0001" "garbage!", 16));
  ASSERT_TRUE(h.pbx.peer_closed());
  h.pump_until([&] { return h.link_events().size() == 2; });
  ASSERT_EQ(h.link_events().size(), 2u);
  EXPECT_FALSE(h.link_events()[1].up);
  EXPECT_NE(h.link_events()[1].detail.find("malformed frame"), std::string::npos);
  EXPECT_TRUE(h.ctx.logger().contains("malformed frame bytes=\"01 02 00 10"));

  h.pbx.drop();
  h.ctx.advance(500ms);
  ASSERT_TRUE(h.pbx.accept());
  h.pbx.monitored.clear();
  h.pbx.serve_monitors(2);
  h.pump_until([&] { return h.link_events().size() == 3; });
  ASSERT_EQ(h.link_events().size(), 3u);
  EXPECT_TRUE(h.link_events()[2].up);
  EXPECT_EQ(h.pbx.monitored, (std::vector<std::string>{"100", "114"}));
}

TEST(CstaDriver, AnUnreachableSwitchIsReportedOnceAndRetriedWithGrowingWaits) {
  sdk::testing::FakeContext ctx("pbx", sdk::Category::driver);
  std::uint16_t closed_port;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = probe.local_endpoint().port();
  }
  CstaDriver driver(ctx, sdk::testing::settings_for(factory, config(closed_port)));
  driver.start([](sdk::Status) {});
  auto downs = [&] {
    std::size_t n = 0;
    for (const auto& e : ctx.published())
      if (std::holds_alternative<sdk::LinkEvent>(e)) ++n;
    return n;
  };
  for (int i = 0; i < 200 && downs() == 0; ++i) {
    ctx.run();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(downs(), 1u);
  for (auto wait : {500ms, 1000ms, 2000ms}) {
    ctx.advance(wait);
    for (int i = 0; i < 50; ++i) {
      ctx.run();
      std::this_thread::sleep_for(1ms);
    }
  }
  EXPECT_EQ(downs(), 1u);
  EXPECT_TRUE(ctx.logger().contains("reconnecting in_ms=4000 attempt=4"));
  driver.stop([](sdk::Status) {});
}

TEST(CstaDriver, RouteingModeRegistersAndAnswersRouteRequests) {
  Harness h({{"mode", ConfigNode("routeing")}, {"routeing_devices", ConfigNode::list({"100"})}});
  h.start({"114", "115"});
  auto reg = h.pbx.expect(MessageKind::route_register);
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->message.device_id, "100");
  Message registered;
  registered.kind = MessageKind::route_register_response;
  registered.route_register_req_id = "R1";
  h.pbx.send(reg->invoke_id, registered);
  h.pbx.serve_monitors(3);
  h.pump_until([&] { return !h.link_events().empty(); });
  ASSERT_EQ(h.link_events().size(), 1u);

  // The routeing device's own Delivered does not start the call; the RouteRequest does.
  h.pbx.event(delivered_at("100", "c5", "0602123456"));
  Message route;
  route.kind = MessageKind::route_request;
  route.route_register_req_id = "R1";
  route.routing_cross_ref_id = "X9";
  route.called_device = "100";
  route.calling_device = "0602123456";
  route.connection = {"c5", "100"};
  h.pbx.send(77, route);
  h.pump_until([&] { return !h.call_events().empty(); });
  ASSERT_EQ(h.call_events().size(), 1u);
  EXPECT_EQ(h.call_events()[0].type, sdk::CallEventType::delivered);
  EXPECT_EQ(h.call_events()[0].connection.device, "100");
  EXPECT_EQ(h.call_events()[0].calling, "0602123456");

  std::optional<sdk::Status> result;
  h.driver->deflect({"c5", "100"}, "114", [&](sdk::Status s) { result = s; });
  auto select = h.pbx.expect(MessageKind::route_select);
  ASSERT_TRUE(select);
  EXPECT_EQ(select->message.routing_cross_ref_id, "X9");
  EXPECT_EQ(select->message.route_register_req_id, "R1");
  EXPECT_EQ(select->message.new_destination, "114");
  ASSERT_TRUE(result && result->ok());

  // The route failed: the engine sees its target fail and selects again.
  Message reroute;
  reroute.kind = MessageKind::re_route;
  reroute.route_register_req_id = "R1";
  reroute.routing_cross_ref_id = "X9";
  h.pbx.send(78, reroute);
  h.pump_until([&] { return h.call_events().size() == 2; });
  ASSERT_EQ(h.call_events().size(), 2u);
  EXPECT_EQ(h.call_events()[1].type, sdk::CallEventType::failed);
  EXPECT_EQ(h.call_events()[1].connection.device, "114");
  h.driver->deflect({"c5", "100"}, "115", [](sdk::Status) {});
  auto again = h.pbx.expect(MessageKind::route_select);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->message.new_destination, "115");
}

TEST(CstaDriver, CallsOfferedWhileTheMonitorsAreSetUpFollowTheLinkUp) {
  Harness h;
  h.start({"100"});
  auto monitor = h.pbx.expect(MessageKind::monitor_start);
  ASSERT_TRUE(monitor);
  h.pbx.event(delivered_at("100", "c1", "0602123456"));
  h.pump_until([] { return false; }, 20ms);
  EXPECT_TRUE(h.call_events().empty());
  Message started;
  started.kind = MessageKind::monitor_start_response;
  started.monitor_cross_ref_id = "x100";
  h.pbx.send(monitor->invoke_id, started);
  auto snapshot = h.pbx.expect(MessageKind::snapshot_device);
  ASSERT_TRUE(snapshot);
  h.pbx.reply(snapshot->invoke_id, MessageKind::snapshot_device_response);
  h.pump_until([&] { return !h.call_events().empty(); });
  std::vector<std::string> order;
  for (const auto& e : h.ctx.published()) {
    if (std::holds_alternative<sdk::LinkEvent>(e)) order.push_back("link");
    if (std::holds_alternative<sdk::CallEvent>(e)) order.push_back("call");
  }
  EXPECT_EQ(order, (std::vector<std::string>{"link", "call"}));
}

// A routing strategy that only names its numbers: the driver learns the project numbers from it.
class ProjectsOnly final : public sdk::RoutingStrategy {
 public:
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  std::vector<std::string> numbers() const override { return {"100"}; }
  std::vector<std::string> devices() const override { return {"114"}; }
  sdk::RoutingDecision decide(const sdk::RoutingRequest&, const sdk::DeviceView&) override { return {}; }
};

TEST(CstaDriver, AProjectNumberIsAQueueThatReadsIdleWhateverItsCalls) {
  Harness h;
  ProjectsOnly projects;
  h.ctx.add_instance(sdk::Category::routing, "projects", &projects);
  h.bring_up({"100", "114"});
  auto before = h.device_events().size();
  h.pbx.event(delivered_at("100", "c1", "0602123456"));
  h.pbx.event(delivered_at("114", "c2", "0602123457"));
  h.pump_until([&] { return h.device_events().size() > before; });
  h.pump_until([] { return false; }, 20ms);
  auto after = h.device_events();
  ASSERT_EQ(after.size(), before + 1);
  EXPECT_EQ(after.back().device, "114");
  EXPECT_EQ(after.back().state, sdk::DeviceState::ringing);
  EXPECT_EQ(h.call_events().size(), 2u);
}

TEST(CstaDriver, SetsAgentStateAndMapsNegativeAnswersAsForDeflect) {
  Harness h;
  EXPECT_TRUE(h.driver->capabilities().agent_state);
  std::optional<sdk::Status> down;
  h.driver->set_agent_state("114", "401", sdk::AgentState::logged_in, [&](sdk::Status s) { down = s; });
  ASSERT_TRUE(down);
  EXPECT_EQ(down->error().code, sdk::ErrorCode::unavailable) << "not into a link that is not up";

  h.bring_up({"100", "N<114>;noa=unknown"});
  const std::vector<std::pair<sdk::AgentState, std::string>> states{{sdk::AgentState::logged_in, "loggedOn"},
                                                                   {sdk::AgentState::logged_out, "loggedOff"},
                                                                   {sdk::AgentState::ready, "ready"},
                                                                   {sdk::AgentState::not_ready, "notReady"}};
  for (const auto& [state, written] : states) {
    auto ok = h.complete([&](auto done) { h.driver->set_agent_state("114", "401", state, done); }, [&] {
      auto request = h.pbx.expect(MessageKind::set_agent_state);
      ASSERT_TRUE(request);
      EXPECT_EQ(request->message.device_id, "N<114>;noa=unknown") << "the switch's own form";
      EXPECT_EQ(request->message.agent_state, written);
      EXPECT_EQ(request->message.agent_group, "401");
      h.pbx.reply(request->invoke_id, MessageKind::set_agent_state_response);
    });
    ASSERT_TRUE(ok && ok->ok()) << written;
  }

  const std::vector<std::pair<std::string, sdk::ErrorCode>> answers{
      {"invalidDeviceID", sdk::ErrorCode::unavailable}, {"invalidAgentGroup", sdk::ErrorCode::refused}};
  for (const auto& [value, code] : answers) {
    auto refused = h.complete([&](auto done) { h.driver->set_agent_state("114", "499", sdk::AgentState::ready, done); },
                              [&] {
                                auto request = h.pbx.expect(MessageKind::set_agent_state);
                                ASSERT_TRUE(request);
                                h.pbx.refuse(request->invoke_id, value);
                              });
    ASSERT_TRUE(refused);
    ASSERT_FALSE(refused->ok());
    EXPECT_EQ(refused->error().code, code) << value;
    EXPECT_NE(refused->error().message.find(value), std::string::npos);
  }
}

TEST(CstaDriver, AnOriginatedCallIsACallEventAndTheDeviceBusyUntilCleared) {
  Harness h;
  h.bring_up({"100", "114"});
  auto before = h.device_events().size();
  Message originated;
  originated.kind = MessageKind::originated;
  originated.monitor_cross_ref_id = "x114";
  originated.connection = {"c3", "114"};
  originated.calling_device = "114";
  originated.called_device = "401";
  originated.local_connection_info = sdk::ConnectionState::initiated;
  h.pbx.event(originated);
  h.pump_until([&] { return h.call_events().size() == 1 && h.device_events().size() > before; });
  ASSERT_EQ(h.call_events().size(), 1u);
  auto e = h.call_events()[0];
  EXPECT_EQ(e.type, sdk::CallEventType::originated);
  EXPECT_EQ(e.connection.call_id, "c3");
  EXPECT_EQ(e.connection.device, "114");
  EXPECT_EQ(e.calling, "114");
  EXPECT_EQ(e.called, "401");
  EXPECT_EQ(e.local_state, sdk::ConnectionState::initiated);
  EXPECT_EQ(e.driver, "pbx");
  ASSERT_GT(h.device_events().size(), before);
  EXPECT_EQ(h.device_events().back().device, "114");
  EXPECT_EQ(h.device_events().back().state, sdk::DeviceState::busy);

  // The engine clears the feature-code call: ClearConnection, then the switch's ConnectionCleared.
  auto cleared = h.complete([&](auto done) { h.driver->clear({"c3", "114"}, done); }, [&] {
    auto request = h.pbx.expect(MessageKind::clear_connection);
    ASSERT_TRUE(request);
    EXPECT_EQ(request->message.connection.call_id, "c3");
    h.pbx.reply(request->invoke_id, MessageKind::clear_connection_response);
  });
  ASSERT_TRUE(cleared && cleared->ok());
  Message dropped;
  dropped.kind = MessageKind::connection_cleared;
  dropped.monitor_cross_ref_id = "x114";
  dropped.connection = {"c3", "114"};
  dropped.releasing_device = "114";
  h.pbx.event(dropped);
  h.pump_until([&] { return h.device_events().back().state == sdk::DeviceState::idle; });
  EXPECT_EQ(h.device_events().back().state, sdk::DeviceState::idle);
}
