#include "webhook_alert.hpp"  // first: it includes Asio the SDK's way

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "switchboard/sdk/call_log_format.hpp"
#include "switchboard/sdk/testing/conformance.hpp"

namespace sdk = switchboard::sdk;
namespace http = boost::beast::http;
using sdk::ConfigNode;
using switchboard::plugins::WebhookAlert;
using tcp = sdk::asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

sdk::FactoryFor<WebhookAlert> factory("webhook", "test");

// A receiver on 127.0.0.1 in a thread of its own (tests may create threads; plugins may not). Each
// connection gets the next of `answers`: an HTTP status, or 0 to read the request and never answer.
class TestServer {
 public:
  struct Request {
    std::string method, target, content_type, authorization, body;
  };

  explicit TestServer(std::vector<int> answers)
      : answers_(std::move(answers)), acceptor_(io_, tcp::endpoint(sdk::asio::ip::make_address("127.0.0.1"), 0)),
        port_(acceptor_.local_endpoint().port()), thread_([this] { serve(); }) {}

  ~TestServer() {
    stopping_ = true;
    // accept() blocks: a connection of our own wakes it.
    boost::system::error_code ignored;
    tcp::socket wake(io_);
    wake.connect(tcp::endpoint(sdk::asio::ip::make_address("127.0.0.1"), port_), ignored);
    wake.close(ignored);
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::vector<Request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const { return requests().size(); }

 private:
  void serve() {
    for (std::size_t i = 0;; ++i) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(socket, buffer, request, ec);
      if (ec) continue;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back({std::string(request.method_string()), std::string(request.target()),
                             std::string(request[http::field::content_type]),
                             std::string(request[http::field::authorization]), request.body()});
      }
      int answer = i < answers_.size() ? answers_[i] : 200;
      if (answer == 0) {
        silent_.push_back(std::move(socket));  // kept open, never answered
        continue;
      }
      http::response<http::string_body> response{static_cast<http::status>(answer), 11};
      response.body() = "thanks";
      response.prepare_payload();
      http::write(socket, response, ec);
    }
  }

  std::vector<int> answers_;
  sdk::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_;
  mutable std::mutex mutex_;
  std::vector<Request> requests_;
  std::vector<tcp::socket> silent_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last: starts once everything it uses exists
};

// A port nobody listens on: bound, then released.
std::uint16_t closed_port() {
  sdk::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(sdk::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// Socket I/O completes in real time: run the context until `done` holds, at most `limit`.
template <class Predicate>
bool run_until(sdk::testing::FakeContext& ctx, Predicate done, std::chrono::milliseconds limit = 5s) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    ctx.run();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
}

std::size_t count_lines(const sdk::testing::CapturingLogger& log, std::string_view text) {
  return static_cast<std::size_t>(std::count_if(log.lines.begin(), log.lines.end(), [&](const auto& l) {
    return l.text.find(text) != std::string::npos;
  }));
}

ConfigNode config(const std::string& url, std::vector<std::pair<std::string, ConfigNode>> more = {}) {
  std::vector<ConfigNode::Entry> entries{{"url", {}, ConfigNode::scalar(url)}};
  for (auto& [k, v] : more) entries.push_back({k, {}, v});
  return ConfigNode::map(std::move(entries));
}

std::string local_url(std::uint16_t port, const std::string& path = "/hook") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

std::vector<std::string> validation_errors(const ConfigNode& node) {
  return sdk::testing::validation_errors(factory, node, "alerts.hook.config");
}

sdk::Alert link_down() {
  sdk::Alert a;
  a.rule = "pbx_link_down";
  a.severity = sdk::Severity::critical;
  a.summary = "PBX link down";
  a.dedup_key = "link:hicom-main";
  a.labels["driver"] = "hicom-main";
  a.labels["host"] = "10.0.0.5";
  a.at = sdk::TimePoint(std::chrono::seconds(1'700'000'123));
  return a;
}

struct Answer {
  int calls = 0;
  sdk::Status status;
  sdk::Completion callback() {
    return [this](sdk::Status s) {
      ++calls;
      status = s;
    };
  }
};

}  // namespace

TEST(WebhookAlert, PassesTheConfigConformance) {
  sdk::testing::expect_config_conformance(factory, config("http://127.0.0.1:8080/hook"));
}

TEST(WebhookAlert, PassesTheLifecycleConformance) {
  sdk::testing::expect_lifecycle_conformance(factory, config("http://127.0.0.1:8080/hook"));
}

TEST(WebhookAlert, PostsTheAlertAsJson) {
  TestServer server({200});
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(
                              factory, config(local_url(server.port(), "/hooks/alerts?source=switchboard"),
                                              {{"headers", ConfigNode::map({{"Authorization", "Bearer s3cret"}})}})));
  alert.start([](sdk::Status) {});
  Answer answer;
  alert.fire(link_down(), answer.callback());
  ASSERT_TRUE(run_until(ctx, [&] { return answer.calls > 0; }));
  ASSERT_TRUE(answer.status.ok()) << answer.status.error().message;
  EXPECT_EQ(answer.calls, 1);

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/hooks/alerts?source=switchboard");
  EXPECT_EQ(requests[0].content_type, "application/json");
  EXPECT_EQ(requests[0].authorization, "Bearer s3cret");
  auto body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["rule"], "pbx_link_down");
  EXPECT_EQ(body["severity"], "critical");
  EXPECT_EQ(body["summary"], "PBX link down");
  EXPECT_EQ(body["key"], "link:hicom-main");
  EXPECT_EQ(body["resolved"], false);
  EXPECT_EQ(body["time"], sdk::iso8601_local(link_down().at));
  EXPECT_EQ(body["instance"], "ops");
  EXPECT_EQ(body["labels"], (nlohmann::json{{"driver", "hicom-main"}, {"host", "10.0.0.5"}}));
  EXPECT_TRUE(ctx.logger().contains("webhook delivered rule=pbx_link_down"));
  EXPECT_FALSE(ctx.logger().contains("s3cret"));
}

TEST(WebhookAlert, RetriesAfterAServerErrorAndSucceeds) {
  TestServer server({500, 200});
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(factory, config(local_url(server.port()))));
  alert.start([](sdk::Status) {});
  Answer answer;
  alert.fire(link_down(), answer.callback());
  ASSERT_TRUE(run_until(ctx, [&] { return ctx.logger().contains("webhook attempt failed"); }));
  EXPECT_TRUE(ctx.logger().contains("attempt=1 error=\"server answered 500 Internal Server Error\" retry_in=1s"))
      << ctx.logger().lines.back().text;
  EXPECT_EQ(answer.calls, 0);

  ctx.advance(1s);
  ASSERT_TRUE(run_until(ctx, [&] { return answer.calls > 0; }));
  EXPECT_TRUE(answer.status.ok()) << answer.status.error().message;
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(WebhookAlert, ConnectionRefusedFailsAfterTheRetriesWithGrowingBackoff) {
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(factory, config(local_url(closed_port()), {{"retries", "2"}})));
  alert.start([](sdk::Status) {});
  Answer answer;
  alert.fire(link_down(), answer.callback());
  auto failures = [&] { return count_lines(ctx.logger(), "webhook attempt failed"); };

  ASSERT_TRUE(run_until(ctx, [&] { return failures() == 1; }));
  ctx.advance(999ms);
  EXPECT_EQ(failures(), 1u) << "retried before the 1s backoff";
  ctx.advance(1ms);
  ASSERT_TRUE(run_until(ctx, [&] { return failures() == 2; }));
  EXPECT_TRUE(ctx.logger().contains("attempt=2 error=\"connect: Connection refused\" retry_in=2s"))
      << ctx.logger().lines.back().text;
  ctx.advance(1999ms);
  EXPECT_EQ(answer.calls, 0) << "retried before the 2s backoff";
  ctx.advance(1ms);
  ASSERT_TRUE(run_until(ctx, [&] { return answer.calls > 0; }));
  EXPECT_EQ(answer.calls, 1);
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().code, sdk::ErrorCode::unavailable);
  EXPECT_NE(answer.status.error().message.find("failed after 3 attempts: connect: Connection refused"), std::string::npos)
      << answer.status.error().message;
  EXPECT_EQ(ctx.pending_timers(), 0u);
}

TEST(WebhookAlert, AServerThatNeverAnswersTimesOut) {
  TestServer server({0});
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(factory, config(local_url(server.port()), {{"retries", "0"}})));
  alert.start([](sdk::Status) {});
  Answer answer;
  alert.fire(link_down(), answer.callback());
  ASSERT_TRUE(run_until(ctx, [&] { return server.request_count() == 1; }));
  ctx.advance(4999ms);
  EXPECT_EQ(answer.calls, 0) << "timed out before the 5s default";
  ctx.advance(1ms);
  ASSERT_TRUE(run_until(ctx, [&] { return answer.calls > 0; }));
  ASSERT_FALSE(answer.status.ok());
  EXPECT_EQ(answer.status.error().code, sdk::ErrorCode::timeout);
  EXPECT_NE(answer.status.error().message.find("failed after 1 attempt: no answer within 5000ms (receive)"),
            std::string::npos)
      << answer.status.error().message;
}

TEST(WebhookAlert, StopCancelsAPendingDeliveryAndAnswersOnce) {
  TestServer server({0});
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(factory, config(local_url(server.port()))));
  alert.start([](sdk::Status) {});
  Answer answer;
  alert.fire(link_down(), answer.callback());
  ASSERT_TRUE(run_until(ctx, [&] { return server.request_count() == 1; }));

  int stops = 0;
  alert.stop([&](sdk::Status s) {
    ++stops;
    EXPECT_TRUE(s.ok());
  });
  EXPECT_EQ(stops, 1);
  ASSERT_EQ(answer.calls, 1);
  EXPECT_EQ(answer.status.error().code, sdk::ErrorCode::cancelled);
  ctx.run();
  ctx.advance(1h);  // neither the attempt timeout nor a retry may answer again
  EXPECT_EQ(answer.calls, 1);
  EXPECT_EQ(ctx.pending_timers(), 0u);
  alert.stop([&](sdk::Status) { ++stops; });
  EXPECT_EQ(stops, 2);
}

TEST(WebhookAlert, RefusesToFireWhenNotStarted) {
  sdk::testing::FakeContext ctx("ops");
  WebhookAlert alert(ctx, sdk::testing::settings_for(factory, config("http://127.0.0.1:8080/hook")));
  Answer answer;
  alert.fire(link_down(), answer.callback());
  ASSERT_EQ(answer.calls, 1);
  EXPECT_EQ(answer.status.error().code, sdk::ErrorCode::unavailable);
}

TEST(WebhookAlert, ParsesHttpUrls) {
  auto plain = switchboard::plugins::parse_webhook_url("http://alerts.example.com");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->host, "alerts.example.com");
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->target, "/");
  EXPECT_EQ(plain->host_header(), "alerts.example.com");

  auto v6 = switchboard::plugins::parse_webhook_url("http://[::1]:8080/a/b?x=1");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
  EXPECT_EQ(v6->target, "/a/b?x=1");
  EXPECT_EQ(v6->host_header(), "[::1]:8080");
}

TEST(WebhookAlert, ValidationRefusesHttpsAndBrokenUrls) {
  auto https = validation_errors(config("https://alerts.example.com/hook"));
  ASSERT_EQ(https.size(), 1u);
  EXPECT_NE(https[0].find("alerts.hook.config.url: https is not supported: TLS is not supported by this action yet"),
            std::string::npos)
      << https[0];
  for (const char* bad : {"ftp://host/x", "http:///path", "http://host:0/", "http://host:99999/", "http://host:/",
                          "http://user:pw@host/", "http://[::1/x", "http://host/x#frag"})
    EXPECT_EQ(validation_errors(config(bad)).size(), 1u) << bad;
}

TEST(WebhookAlert, ValidationRefusesHeadersTheActionSetsOrThatBreakTheRequest) {
  EXPECT_EQ(validation_errors(config("http://h/x", {{"headers", ConfigNode::map({{"Content-Length", "1"}})}})),
            std::vector<std::string>{"alerts.hook.config.headers: 'Content-Length' is set by the action itself"});
  EXPECT_EQ(validation_errors(config("http://h/x", {{"headers", ConfigNode::map({{"X-Token", "a\r\nEvil: 1"}})}})),
            std::vector<std::string>{"alerts.hook.config.headers: the value of 'X-Token' contains a line break"});
  EXPECT_EQ(validation_errors(config("http://h/x", {{"headers", ConfigNode::map({{"Bad Name", "1"}})}})).size(), 1u);
  EXPECT_EQ(validation_errors(config("http://h/x", {{"retries", "11"}})).size(), 1u);
}
