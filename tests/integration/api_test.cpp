// The HTTP/JSON API (docs/api.md) end to end: the real server on loopback, real SQLite storage, the
// project_rules strategy and the scripted PBX driver, in real time. Every request goes over HTTP/1.1 and
// every WebSocket over a real upgrade, as the web console would send them.
#include <utility>  // before any Boost.Asio header (Boost 1.74 under C++20)

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "../plugins/scripted_driver.hpp"
#include "real_plugins.hpp"
#include "switchboard/core/agent_commands.hpp"
#include "switchboard/core/host_config.hpp"
#include "switchboard/core/number_plan.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/core/storage_session.hpp"
#include "switchboard/core/yaml_source.hpp"

namespace fs = std::filesystem;
namespace sdk = switchboard::sdk;
namespace core = switchboard::core;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// ----- helpers: one HTTP request, one WebSocket, the plugins --------------------------------------------

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Reply {
  unsigned status = 0;  // 0: no answer (`failure` says why)
  std::string failure;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  json parsed() const { return json::parse(body, nullptr, false); }  // discarded when it is no JSON
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // "STATUS body", for failure messages.
  std::string show() const { return std::to_string(status) + " " + failure + " " + body.substr(0, 400); }
};

// One request on a fresh connection; 15 s at most.
Reply request(std::uint16_t port, http::verb verb, const std::string& target, const std::string& body = {},
              const std::string& content_type = {}, const Headers& headers = {}) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch)
    req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  beast::flat_buffer buffer;
  beast::error_code write_error, read_error;
  stream.expires_after(15s);
  auto read = [&] { http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) { read_error = ec; }); };
  stream.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), [&](beast::error_code ec) {
    if (ec) return void(read_error = ec);
    // A server may answer (413) before the body is all sent: read the answer even when writing failed.
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) { write_error = ec, read(); });
  });
  io.run();
  Reply reply;
  if (read_error || !parser.is_done()) {
    reply.failure = "no answer: " + read_error.message() + (write_error ? " (write: " + write_error.message() + ")" : "");
    return reply;
  }
  auto& res = parser.get();
  reply.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers.emplace(name, std::string(field.value()));
  }
  reply.body = res.body();
  return reply;
}

// A logged-in console: its cookie ("switchboard_session=..."), CSRF token and agent.
struct Session {
  std::string cookie;
  std::string csrf;
  json agent;
};

// A WebSocket to /api/events; messages are collected on its own thread.
class Events {
 public:
  Events(std::uint16_t port, const std::string& cookie, const std::string& origin) {
    const std::string host = "127.0.0.1:" + std::to_string(port);
    ws_.set_option(websocket::stream_base::decorator([cookie, origin](websocket::request_type& req) {
      if (!cookie.empty()) req.set(http::field::cookie, cookie);
      if (!origin.empty()) req.set(http::field::origin, origin);
    }));
    beast::error_code error;
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(10s);
    tcp_layer.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), [&](beast::error_code ec) {
      if (ec) return void(error = ec);
      ws_.async_handshake(handshake_, host, "/api/events", [&](beast::error_code ec) { error = ec; });
    });
    io_.run();
    io_.restart();
    status = error ? handshake_.result_int() : 101;
    if (error) {
      failure = error.message();
      return;
    }
    tcp_layer.expires_never();
    read();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Events() {
    asio::post(io_, [this] { beast::get_lowest_layer(ws_).close(); });
    if (thread_.joinable()) thread_.join();
  }

  // The next message, or nothing when none came within `wait`.
  std::optional<json> next(std::chrono::milliseconds wait = 5s) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, wait, [this] { return !messages_.empty() || closed_; }) || messages_.empty())
      return std::nullopt;
    auto text = std::move(messages_.front());
    messages_.pop_front();
    return json::parse(text, nullptr, false);
  }
  // The next message of `type`, skipping others.
  std::optional<json> next_of(const std::string& type, std::chrono::milliseconds wait = 5s) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()));
      if (!m) return std::nullopt;
      if (m->is_object() && m->value("type", "") == type) return m;
    }
    return std::nullopt;
  }
  bool send(const json& message) {
    auto text = std::make_shared<std::string>(message.dump());
    std::promise<beast::error_code> done;
    asio::post(io_, [&, text] {
      ws_.text(true);
      ws_.async_write(asio::buffer(*text), [&, text](beast::error_code ec, std::size_t) { done.set_value(ec); });
    });
    auto result = done.get_future();
    return result.wait_for(5s) == std::future_status::ready && !result.get();
  }

  unsigned status = 0;  // 101 when accepted, else the refusal's HTTP status
  std::string failure;

 private:
  void read() {
    ws_.async_read(buffer_, [this](beast::error_code ec, std::size_t) {
      {
        std::lock_guard lock(mutex_);
        if (ec) closed_ = true;
        else messages_.push_back(beast::buffers_to_string(buffer_.data()));
      }
      buffer_.consume(buffer_.size());
      cv_.notify_all();
      if (!ec) read();
    });
  }

  asio::io_context io_;
  websocket::stream<beast::tcp_stream> ws_{io_};
  websocket::response_type handshake_;
  beast::flat_buffer buffer_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> messages_;
  bool closed_ = false;
};

const core::NumberPlan& plan() {
  static const core::NumberPlan p(core::NumberPlan::Options{"CZ", "0", 4});
  return p;
}

sdk::Rule customer(std::int64_t id, std::string company, std::string caller, std::vector<std::string> operators,
                   std::string project = "100") {
  sdk::Rule r;
  r.id = id;
  r.project = std::move(project);
  r.company_id = "C" + std::to_string(id);
  r.company = std::move(company);
  r.callers[0] = caller;
  r.callers_normalised[0] = plan().normalise(caller).value();
  r.operators = std::move(operators);
  r.city = "Praha";
  return r;
}

sdk::Agent agent(std::string name, std::string extension, bool central, bool call_module,
                 sdk::AgentRole role = sdk::AgentRole::agent) {
  sdk::Agent a;
  a.name = name;
  a.extension = std::move(extension);
  a.role = role;
  a.may_edit_central_list = central;
  a.call_module = call_module;
  a.password_hash = core::hash_password(name + "-pw").value();
  return a;
}

// The agent `name` of a GET /api/agents answer (null when absent).
json find_agent(const json& agents, const std::string& name) {
  if (agents.is_object() && agents.contains("agents"))
    for (const auto& a : agents["agents"])
      if (a.value("name", "") == name) return a;
  return nullptr;
}

bool has_secret(const json& agent) {
  return agent.contains("password") || agent.contains("password_hash") || agent.contains("hash") ||
         agent.dump().find("$argon2") != std::string::npos;
}

// ----- the fixture: a host with the API, agents and customers -------------------------------------------

const std::string novak_number = "+420 602 000 012";  // customer 12 (project 100, operators 101, 102)
constexpr const char* json_type = "application/json";

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("switchboard-api-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (runtime_) runtime_->stop();
    runtime_.reset();
    fs::remove_all(dir_);
  }

  // Agents: root (administrator, 100), anna (101, central list, call module), bert (102, call module only).
  // Customers: 12 Novak s.r.o. with one old note, 13 Dvorak a.s., 25 "Paging Co NN" (1000..1024).
  // A port free now, for the configuration (api.listen); `listen` overrides the whole address.
  static std::uint16_t free_port() {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return probe.local_endpoint().port();
  }

  // `window`: the login limit's; long enough that the failures a test makes all fall in it even when hashing
  // is slow on a loaded machine (each failure costs an argon2id verification).
  void start(const std::string& session_timeout = "1h", std::string listen = {}, const std::string& window = "3s") {
    if (listen.empty()) listen = "127.0.0.1:" + std::to_string(free_port());
    std::ostringstream yaml;
    yaml << "logging: {level: warn}\n"
            "numbers: {region: CZ, pbx_exit_code: \"0\", internal_max_digits: 4}\n"
            "command_log: \"" << (dir_ / "LOG_SA.TXT").string() << "\"\n"
            "control: {socket: \"\"}\n"
            "storage: {main: {type: soci, config: {connection: \"sqlite3://" << (dir_ / "db.sqlite").string() << "\"}}}\n"
            "routing:\n"
            "  projects:\n"
            "    type: project_rules\n"
            "    config:\n"
            "      storage: main\n"
            "      projects: [{number: \"100\", operators: \"101;102\"}]\n"
            "drivers: {pbx: {type: scripted}}\n"
            "api: {enabled: true, listen: \"" << listen << "\", session_timeout: " << session_timeout
         << ", login_limit: {per_name: 3, per_address: 10, window: " << window << "}}\n";
    sdk::Diagnostics diag;
    auto root = core::parse_yaml(yaml.str(), "api.yaml", diag);
    config_ = core::validate_config(root, "api.yaml", registry(), diag);
    std::ostringstream errors;
    core::print_diagnostics(diag, errors);
    ASSERT_TRUE(config_) << errors.str();
    {
      auto session = core::StorageSession::open(*config_, logs_, "main");
      ASSERT_TRUE(session.ok()) << session.error().message;
      for (auto a : {agent("root", "100", true, true, sdk::AgentRole::administrator), agent("anna", "101", true, true),
                     agent("bert", "102", false, true)}) {
        auto saved = (*session)->call<sdk::Agent>([&](sdk::Storage& s, auto done) { s.save_agent(a, done); });
        ASSERT_TRUE(saved.ok()) << saved.error().message;
      }
      sdk::RuleWrite write;
      write.rules.push_back(customer(12, "Novak s.r.o.", novak_number, {"101", "102"}));
      write.rules.back().note = "VIP";
      write.rules.push_back(customer(13, "Dvorak a.s.", "0777 000 013", {"102"}));
      for (int i = 0; i < 25; ++i)
        write.rules.push_back(customer(1000 + i, "Paging Co " + std::to_string(10 + i),
                                       "+420 603 000 " + std::to_string(100 + i), {"101"}));
      auto written = (*session)->call<sdk::RuleWriteSummary>(
          [&](sdk::Storage& s, auto done) { s.write_rules(std::move(write), done); });
      ASSERT_TRUE(written.ok()) << written.error().message;
      sdk::Note note;
      note.rule_id = 12;
      note.saved_at = std::chrono::system_clock::now() - 24h * 7;
      note.operator_extension = "102";
      note.agent = "bert";
      note.text = "Called last week";
      auto added = (*session)->call<sdk::Note>([&](sdk::Storage& s, auto done) { s.add_note(note, done); });
      ASSERT_TRUE(added.ok()) << added.error().message;
    }
    runtime_ = std::make_unique<core::Runtime>(*config_, logs_, core::ClockMode::real);
    auto status = runtime_->start();
    ASSERT_TRUE(status.ok()) << status.error().message;
    port_ = runtime_->api_port();
    ASSERT_NE(port_, 0) << "api_port() of a runtime with the API enabled";
    if (listen.size() > 2 && listen.substr(listen.size() - 2) != ":0") {
      EXPECT_EQ(std::to_string(port_), listen.substr(listen.rfind(':') + 1)) << "api_port() is not the configured port";
    }
    driver_ = static_cast<scripted::ScriptedDriver*>(runtime_->find(sdk::Category::driver, "pbx"));
    strand_ = runtime_->find_ref(sdk::Category::driver, "pbx").strand;
    ASSERT_TRUE(driver_ && strand_);
  }

  Reply post_login(const std::string& name, const std::string& password) {
    return request(port_, http::verb::post, "/api/login", json{{"name", name}, {"password", password}}.dump(), json_type);
  }
  // Logs in (name's password is NAME-pw); a failed login fails the test and gives an empty session.
  Session login(const std::string& name) {
    auto r = post_login(name, name + "-pw");
    EXPECT_EQ(r.status, 200u) << "login " << name << ": " << r.show();
    Session s;
    auto cookie = r.header("set-cookie");
    s.cookie = cookie.substr(0, cookie.find(';'));
    auto body = r.parsed();
    if (body.is_object() && body.contains("csrf_token") && body["csrf_token"].is_string())
      s.csrf = body["csrf_token"].get<std::string>();
    if (body.is_object() && body.contains("agent")) s.agent = body["agent"];
    EXPECT_FALSE(s.cookie.empty()) << "login " << name << " set no cookie";
    EXPECT_FALSE(s.csrf.empty()) << "login " << name << " returned no csrf_token";
    return s;
  }
  // A request as the session's console: cookie, CSRF token, JSON body.
  Reply call(const Session& s, http::verb verb, const std::string& target, const json& body = nullptr) {
    Headers h{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}};
    return request(port_, verb, target, body.is_null() ? std::string() : body.dump(), body.is_null() ? "" : json_type, h);
  }
  Reply get(const Session& s, const std::string& target) { return call(s, http::verb::get, target); }
  std::unique_ptr<Events> events(const Session& s) {
    return std::make_unique<Events>(port_, s.cookie, "http://127.0.0.1:" + std::to_string(port_));
  }
  // The ids of the customers a search answer lists.
  static std::vector<std::int64_t> ids(const Reply& r) {
    std::vector<std::int64_t> out;
    auto body = r.parsed();
    if (body.is_object() && body.contains("customers") && body["customers"].is_array())
      for (const auto& c : body["customers"]) out.push_back(c.value("id", std::int64_t{-1}));
    return out;
  }
  std::string search(const std::string& encoded_query) { return "/api/customers?q=" + encoded_query; }

  void pbx(std::function<void(scripted::ScriptedDriver&)> step) {
    std::promise<void> done;
    sdk::asio::post(*strand_, [&] { step(*driver_), done.set_value(); });
    done.get_future().wait();
  }

  fs::path dir_;
  core::LogSetup logs_;
  std::optional<core::HostConfig> config_;
  std::unique_ptr<core::Runtime> runtime_;
  std::uint16_t port_ = 0;
  scripted::ScriptedDriver* driver_ = nullptr;
  sdk::Strand* strand_ = nullptr;
};

void expect_json_error(const Reply& r, unsigned status, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.show();
  auto body = r.parsed();
  EXPECT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string() &&
              !body["error"].get<std::string>().empty())
      << what << ": no {\"error\": sentence} body: " << r.body.substr(0, 300);
  EXPECT_NE(r.header("content-type").find("application/json"), std::string::npos)
      << what << ": content type " << r.header("content-type");
}

}  // namespace

// ----- listening ---------------------------------------------------------------------------------------------

TEST_F(Api, PortZeroListensOnAFreePortThatApiPortNames) {
  ASSERT_NO_FATAL_FAILURE(start("1h", "127.0.0.1:0"));
  auto health = request(port_, http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.show();
}

// ----- login, logout ---------------------------------------------------------------------------------------

TEST_F(Api, LoginSetsAnHttpOnlyCookieAndReturnsTheAgentWithoutSecrets) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto r = post_login("anna", "anna-pw");
  ASSERT_EQ(r.status, 200u) << r.show();
  const auto cookie = r.header("set-cookie");
  EXPECT_EQ(cookie.rfind("switchboard_session=", 0), 0u) << cookie;
  EXPECT_GT(cookie.find(';'), std::string("switchboard_session=").size()) << "an empty session id: " << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Path=/"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "no Secure without TLS: " << cookie;
  auto body = r.parsed();
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("csrf_token") && body["csrf_token"].is_string()) << r.body;
  EXPECT_GE(body["csrf_token"].get<std::string>().size(), 16u) << "a guessable CSRF token: " << r.body;
  ASSERT_TRUE(body.contains("agent")) << r.body;
  const auto& a = body["agent"];
  EXPECT_EQ(a.value("name", ""), "anna");
  EXPECT_EQ(a.value("extension", ""), "101");
  EXPECT_EQ(a.value("role", ""), "agent");
  EXPECT_EQ(a.value("may_edit_central_list", false), true);
  EXPECT_FALSE(has_secret(a)) << a.dump();

  // The session works, and GET /api/session gives the same token.
  Session anna{cookie.substr(0, cookie.find(';')), body["csrf_token"].get<std::string>(), a};
  auto session = get(anna, "/api/session");
  ASSERT_EQ(session.status, 200u) << session.show();
  EXPECT_EQ(session.parsed().value("csrf_token", ""), anna.csrf);
  EXPECT_EQ(session.parsed()["agent"].value("name", ""), "anna");

  // What the login recorded, as the administrator sees it.
  auto root = login("root");
  auto agents = get(root, "/api/agents");
  ASSERT_EQ(agents.status, 200u) << agents.show();
  auto listed = find_agent(agents.parsed(), "anna");
  ASSERT_TRUE(listed.is_object()) << agents.body;
  EXPECT_TRUE(listed["start"].is_string() && !listed["start"].get<std::string>().empty()) << listed.dump();
  EXPECT_TRUE(listed["stop"].is_null()) << listed.dump();
  EXPECT_EQ(listed.value("last_ip", ""), "127.0.0.1") << listed.dump();
  EXPECT_EQ(listed.value("logged_in", false), true) << listed.dump();
  for (const auto& each : agents.parsed()["agents"]) EXPECT_FALSE(has_secret(each)) << each.dump();
  EXPECT_TRUE(find_agent(agents.parsed(), "bert")["start"].is_null()) << "bert never logged in";
}

TEST_F(Api, AWrongPasswordOrNameGets401WithoutCookie) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto wrong = post_login("anna", "not-her-password");
  expect_json_error(wrong, 401, "wrong password");
  EXPECT_TRUE(wrong.header("set-cookie").empty()) << wrong.header("set-cookie");
  auto unknown = post_login("nobody", "anna-pw");
  expect_json_error(unknown, 401, "unknown name");
  EXPECT_TRUE(unknown.header("set-cookie").empty()) << unknown.header("set-cookie");
  EXPECT_EQ(wrong.parsed().value("error", "a"), unknown.parsed().value("error", "b"))
      << "the answer must not tell which of the two was wrong";
  EXPECT_NE(wrong.parsed().value("error", "").find("wrong name or password"), std::string::npos) << wrong.body;

  auto root = login("root");
  auto listed = find_agent(get(root, "/api/agents").parsed(), "anna");
  EXPECT_TRUE(listed.is_object() && listed["start"].is_null()) << "a failed login records no start: " << listed.dump();
}

TEST_F(Api, LogoutEndsTheSessionAndRecordsStop) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  auto out = call(anna, http::verb::post, "/api/logout");
  ASSERT_EQ(out.status, 200u) << out.show();
  EXPECT_EQ(out.parsed().value("ok", false), true) << out.body;
  expect_json_error(get(anna, "/api/session"), 401, "the ended session");
  expect_json_error(get(anna, "/api/customers?q=Novak"), 401, "the ended session");

  auto root = login("root");
  auto listed = find_agent(get(root, "/api/agents").parsed(), "anna");
  ASSERT_TRUE(listed.is_object());
  EXPECT_TRUE(listed["start"].is_string()) << listed.dump();
  EXPECT_TRUE(listed["stop"].is_string() && !listed["stop"].get<std::string>().empty()) << listed.dump();
  EXPECT_EQ(listed.value("logged_in", true), false) << listed.dump();
}

// ----- login limits ------------------------------------------------------------------------------------------

TEST_F(Api, APasswordChangedByAnotherProcessCountsFromTheNextLogin) {
  ASSERT_NO_FATAL_FAILURE(start());
  login("anna");
  {  // what `switchboard agents passwd anna` does while the host runs
    auto session = core::StorageSession::open(*config_, logs_, "main");
    ASSERT_TRUE(session.ok()) << session.error().message;
    auto changed = agent("anna", "101", true, true);
    changed.password_hash = core::hash_password("new-pw").value();
    auto saved = (*session)->call<sdk::Agent>([&](sdk::Storage& s, auto done) { s.save_agent(changed, done); });
    ASSERT_TRUE(saved.ok()) << saved.error().message;
  }
  expect_json_error(post_login("anna", "anna-pw"), 401, "the old password after a change in storage");
  EXPECT_EQ(post_login("anna", "new-pw").status, 200u) << "the new password";
}

TEST_F(Api, LoginLimitPerNameRefusesEvenTheRightPasswordUntilTheWindowPasses) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 3; ++i) expect_json_error(post_login("anna", "wrong"), 401, "failure " + std::to_string(i + 1));
  auto limited = post_login("anna", "anna-pw");
  expect_json_error(limited, 429, "the right password after 3 failures");
  EXPECT_TRUE(limited.header("set-cookie").empty()) << "a limited login must not log in";
  const auto retry_after = limited.header("retry-after");
  int seconds = 0;
  try {
    seconds = std::stoi(retry_after);
  } catch (...) {
  }
  EXPECT_GE(seconds, 1) << "Retry-After: '" << retry_after << "'";
  EXPECT_LE(seconds, 3) << "Retry-After beyond the 3 s window: " << retry_after;
  // Another name from the same address is not limited by anna's failures.
  auto bert = post_login("bert", "bert-pw");
  EXPECT_EQ(bert.status, 200u) << bert.show();

  std::this_thread::sleep_for(std::chrono::seconds(seconds) + 300ms);
  auto again = post_login("anna", "anna-pw");
  EXPECT_EQ(again.status, 200u) << "after the window: " << again.show();
  EXPECT_FALSE(again.header("set-cookie").empty());
}

TEST_F(Api, LoginLimitPerAddressCountsEveryName) {
  ASSERT_NO_FATAL_FAILURE(start("1h", {}, "1m"));
  for (int i = 0; i < 10; ++i) {
    auto r = post_login("ghost" + std::to_string(i), "wrong");
    EXPECT_EQ(r.status, 401u) << "failure " << i + 1 << " (a name of its own): " << r.show();
  }
  auto limited = post_login("anna", "anna-pw");
  expect_json_error(limited, 429, "an 11th attempt from the address, a new name, the right password");
  EXPECT_FALSE(limited.header("retry-after").empty()) << "429 without Retry-After";
  EXPECT_TRUE(limited.header("set-cookie").empty());
}

// ----- sessions and CSRF ---------------------------------------------------------------------------------------

TEST_F(Api, ASessionUnusedForTheTimeoutExpires) {
  ASSERT_NO_FATAL_FAILURE(start("1s"));
  auto anna = login("anna");
  auto fresh = get(anna, "/api/session");
  EXPECT_EQ(fresh.status, 200u) << fresh.show();
  std::this_thread::sleep_for(1500ms);
  expect_json_error(get(anna, "/api/session"), 401, "after 1.5 s idle with a 1 s timeout");
  expect_json_error(get(anna, "/api/customers/12"), 401, "after 1.5 s idle with a 1 s timeout");

  auto root = login("root");
  auto listed = find_agent(get(root, "/api/agents").parsed(), "anna");
  ASSERT_TRUE(listed.is_object());
  EXPECT_TRUE(listed["stop"].is_string()) << "the expired session's Stop is recorded: " << listed.dump();
  EXPECT_EQ(listed.value("logged_in", true), false) << listed.dump();
}

TEST_F(Api, ChangingRequestsWithoutTheRightCsrfTokenAre403AndChangeNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  const std::string note = json{{"text", "must not be stored"}}.dump();
  auto none = request(port_, http::verb::post, "/api/customers/12/notes", note, json_type, {{"Cookie", anna.cookie}});
  expect_json_error(none, 403, "note without X-CSRF-Token");
  auto wrong = request(port_, http::verb::post, "/api/customers/12/notes", note, json_type,
                       {{"Cookie", anna.cookie}, {"X-CSRF-Token", anna.csrf + "x"}});
  expect_json_error(wrong, 403, "note with a wrong X-CSRF-Token");
  auto bert = login("bert");
  auto foreign = request(port_, http::verb::post, "/api/customers/12/notes", note, json_type,
                         {{"Cookie", anna.cookie}, {"X-CSRF-Token", bert.csrf}});
  expect_json_error(foreign, 403, "note with another session's X-CSRF-Token");
  auto put = request(port_, http::verb::delete_, "/api/customers/13", "", "", {{"Cookie", anna.cookie}});
  expect_json_error(put, 403, "DELETE without X-CSRF-Token");
  auto logout = request(port_, http::verb::post, "/api/logout", "", "", {{"Cookie", anna.cookie}});
  expect_json_error(logout, 403, "logout without X-CSRF-Token");

  auto card = get(anna, "/api/customers/12");
  ASSERT_EQ(card.status, 200u) << card.show() << " (the session must survive a refused logout)";
  EXPECT_EQ(card.body.find("must not be stored"), std::string::npos) << card.body;
  EXPECT_EQ(card.parsed()["notes"].size(), 1u) << "only the old note: " << card.body;
  EXPECT_EQ(get(anna, "/api/customers/13").status, 200u) << "customer 13 was deleted without a token";

  auto right = call(anna, http::verb::post, "/api/customers/12/notes", {{"text", "with the token"}});
  EXPECT_EQ(right.status, 201u) << "the same note with the token: " << right.show();
}

// ----- roles and permissions ---------------------------------------------------------------------------------

TEST_F(Api, WithoutTheCentralListPermissionCustomersAndRulesAre403AndUnchanged) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto bert = login("bert");
  auto before = get(bert, "/api/customers/12");
  ASSERT_EQ(before.status, 200u) << before.show();
  json changed = before.parsed()["customer"];
  changed["company"] = "Changed by bert";
  json fresh = changed;
  fresh.erase("id");
  fresh["company"] = "Created by bert";
  fresh["callers"] = {"+420 604 000 001", "", ""};

  expect_json_error(call(bert, http::verb::post, "/api/customers", fresh), 403, "bert POST /api/customers");
  expect_json_error(call(bert, http::verb::put, "/api/customers/12", changed), 403, "bert PUT /api/customers/12");
  expect_json_error(call(bert, http::verb::delete_, "/api/customers/12"), 403, "bert DELETE /api/customers/12");
  const std::string csv = "id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\n"
                          ";100;X1;Imported by bert;603999001;;;101;;;;\n";
  auto import = request(port_, http::verb::post, "/api/rules/import?project=100", csv, "text/csv",
                        {{"Cookie", bert.cookie}, {"X-CSRF-Token", bert.csrf}});
  expect_json_error(import, 403, "bert POST /api/rules/import");
  expect_json_error(get(bert, "/api/rules/export?project=100"), 403, "bert GET /api/rules/export");

  auto after = get(bert, "/api/customers/12");
  ASSERT_EQ(after.status, 200u) << "customer 12 deleted: " << after.show();
  EXPECT_EQ(after.parsed()["customer"], before.parsed()["customer"]);
  EXPECT_TRUE(ids(get(bert, search("Created%20by%20bert"))).empty());
  EXPECT_TRUE(ids(get(bert, search("Imported%20by%20bert"))).empty());
  EXPECT_TRUE(ids(get(bert, search("Changed%20by%20bert"))).empty());

  // anna has the permission: the same requests work for her.
  auto anna = login("anna");
  auto created = call(anna, http::verb::post, "/api/customers", fresh);
  ASSERT_EQ(created.status, 201u) << created.show();
  auto id = created.parsed()["customer"].value("id", std::int64_t{0});
  EXPECT_GT(id, 0) << created.body;
  EXPECT_EQ(created.parsed()["customer"].value("company", ""), "Created by bert");
  auto put = call(anna, http::verb::put, "/api/customers/12", changed);
  EXPECT_EQ(put.status, 200u) << put.show();
  EXPECT_EQ(put.parsed()["customer"].value("company", ""), "Changed by bert") << put.body;
  EXPECT_EQ(get(anna, "/api/customers/12").parsed()["customer"].value("company", ""), "Changed by bert");
  auto removed = call(anna, http::verb::delete_, "/api/customers/" + std::to_string(id));
  EXPECT_EQ(removed.status, 200u) << removed.show();
  EXPECT_EQ(removed.parsed().value("ok", false), true) << removed.body;
  expect_json_error(get(anna, "/api/customers/" + std::to_string(id)), 404, "a deleted customer");
}

TEST_F(Api, OnlyAnAdministratorManagesAgentsAndClearsTheCallLog) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  expect_json_error(get(anna, "/api/agents"), 403, "agent GET /api/agents");
  expect_json_error(call(anna, http::verb::post, "/api/agents",
                         {{"name", "mallory"}, {"extension", "109"}, {"role", "administrator"}, {"password", "x"}}),
                    403, "agent POST /api/agents");
  expect_json_error(call(anna, http::verb::patch, "/api/agents/anna", {{"role", "administrator"}}), 403,
                    "agent PATCH /api/agents/anna (her own role)");
  expect_json_error(call(anna, http::verb::delete_, "/api/agents/bert"), 403, "agent DELETE /api/agents/bert");
  expect_json_error(call(anna, http::verb::post, "/api/calllog/export-and-clear"), 403,
                    "agent POST /api/calllog/export-and-clear");

  auto root = login("root");
  auto agents = get(root, "/api/agents");
  ASSERT_EQ(agents.status, 200u) << agents.show();
  EXPECT_TRUE(find_agent(agents.parsed(), "mallory").is_null()) << agents.body;
  EXPECT_EQ(find_agent(agents.parsed(), "anna").value("role", ""), "agent");
  EXPECT_TRUE(find_agent(agents.parsed(), "bert").is_object());
  EXPECT_EQ(post_login("mallory", "x").status, 401u);
  auto cleared = call(root, http::verb::post, "/api/calllog/export-and-clear");
  EXPECT_EQ(cleared.status, 200u) << cleared.show();
}

TEST_F(Api, WithoutLoginEverythingButHealthLoginAndStaticFilesIs401) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::vector<std::pair<http::verb, std::string>> guarded{
      {http::verb::get, "/api/session"},
      {http::verb::post, "/api/logout"},
      {http::verb::get, "/api/events"},
      {http::verb::get, "/api/customers?q=Novak"},
      {http::verb::get, "/api/customers/12"},
      {http::verb::post, "/api/customers"},
      {http::verb::put, "/api/customers/12"},
      {http::verb::delete_, "/api/customers/12"},
      {http::verb::post, "/api/customers/12/notes"},
      {http::verb::get, "/api/missed"},
      {http::verb::post, "/api/missed/1/done"},
      {http::verb::get, "/api/groups"},
      {http::verb::post, "/api/groups/join"},
      {http::verb::get, "/api/agents"},
      {http::verb::post, "/api/agents"},
      {http::verb::patch, "/api/agents/anna"},
      {http::verb::delete_, "/api/agents/anna"},
      {http::verb::get, "/api/rules/export?project=100"},
      {http::verb::get, "/api/rules/history?project=100"},
      {http::verb::post, "/api/rules/import?project=100"},
      {http::verb::post, "/api/calllog/export-and-clear"},
  };
  const std::string body = json{{"text", "x"}}.dump();
  for (const auto& [verb, target] : guarded) {
    const bool with_body = verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch;
    expect_json_error(request(port_, verb, target, with_body ? body : "", with_body ? json_type : ""), 401,
                      std::string(http::to_string(verb)) + " " + target + " without a cookie");
  }
  expect_json_error(request(port_, http::verb::get, "/api/session", "", "", {{"Cookie", "switchboard_session=forged"}}),
                    401, "a forged session cookie");

  auto health = request(port_, http::verb::get, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.show();
  EXPECT_EQ(post_login("anna", "anna-pw").status, 200u);
  auto index = request(port_, http::verb::get, "/");
  EXPECT_EQ(index.status, 200u) << "GET / (the console): " << index.show();
  EXPECT_NE(index.header("content-type").find("text/html"), std::string::npos) << index.header("content-type");
  auto script = request(port_, http::verb::get, "/api.js");
  EXPECT_EQ(script.status, 200u) << "GET /api.js: " << script.show();
  auto customer = get(Session{}, "/api/customers/12");
  EXPECT_EQ(customer.body.find("Novak"), std::string::npos) << "a customer card without login";
}

// ----- events ------------------------------------------------------------------------------------------------

TEST_F(Api, ACallPopsOnlyAtTheAgentWhoseExtensionRings) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  auto bert = login("bert");
  auto anna_events = events(anna);
  auto bert_events = events(bert);
  ASSERT_EQ(anna_events->status, 101u) << anna_events->failure;
  ASSERT_EQ(bert_events->status, 101u) << bert_events->failure;
  auto hello = anna_events->next();
  ASSERT_TRUE(hello) << "no hello";
  EXPECT_EQ(hello->value("type", ""), "hello") << hello->dump();
  EXPECT_EQ((*hello)["agent"].value("name", ""), "anna") << hello->dump();
  EXPECT_FALSE(has_secret((*hello)["agent"])) << hello->dump();
  auto bert_hello = bert_events->next();
  ASSERT_TRUE(bert_hello);
  EXPECT_EQ(bert_hello->value("type", ""), "hello");

  pbx([](auto& d) { d.offer("c1", "100", "0602000012"); });
  auto pop = anna_events->next_of("call");
  ASSERT_TRUE(pop) << "no call pop at 101; deflects: " << driver_->deflects.size();
  EXPECT_EQ((*pop)["call"].value("caller", ""), "0602000012") << pop->dump();
  EXPECT_EQ((*pop)["call"].value("dialled", ""), "100") << pop->dump();
  EXPECT_EQ((*pop)["call"].value("device", ""), "101") << pop->dump();
  EXPECT_EQ((*pop)["call"].value("id", ""), "c1") << pop->dump();
  ASSERT_TRUE((*pop)["customer"].is_object()) << pop->dump();
  EXPECT_EQ((*pop)["customer"].value("id", std::int64_t{0}), 12) << pop->dump();
  EXPECT_EQ((*pop)["customer"].value("company", ""), "Novak s.r.o.") << pop->dump();
  EXPECT_EQ((*pop)["customer"].value("note", ""), "VIP") << pop->dump();
  ASSERT_TRUE((*pop)["notes"].is_array() && (*pop)["notes"].size() == 1) << pop->dump();
  EXPECT_EQ((*pop)["notes"][0].value("text", ""), "Called last week") << pop->dump();

  auto leaked = bert_events->next(700ms);
  EXPECT_FALSE(leaked) << "102 got a message for a call ringing at 101: " << leaked->dump();

  // An unknown caller while 101 is busy: the project's next operator, 102, gets the pop, with customer null.
  pbx([](auto& d) { d.set_state("101", sdk::DeviceState::busy); });
  pbx([](auto& d) { d.offer("c2", "100", "0777999888"); });
  auto unknown = bert_events->next_of("call");
  ASSERT_TRUE(unknown) << "no pop at 102 for an unknown caller; deflects: " << driver_->deflects.size();
  EXPECT_TRUE((*unknown)["customer"].is_null()) << unknown->dump();
  EXPECT_EQ((*unknown)["call"].value("id", ""), "c2") << unknown->dump();
  EXPECT_EQ((*unknown)["call"].value("device", ""), "102") << unknown->dump();
  auto not_anna = anna_events->next(500ms);
  EXPECT_FALSE(not_anna) << "101 got a message for a call ringing at 102: " << not_anna->dump();
}

TEST_F(Api, TheEventsUpgradeNeedsTheCookieAndTheConsolesOwnOrigin) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  const std::string own = "http://127.0.0.1:" + std::to_string(port_);
  Events without_cookie(port_, "", own);
  EXPECT_EQ(without_cookie.status, 401u) << "upgrade without a cookie: " << without_cookie.failure;
  Events forged(port_, "switchboard_session=forged", own);
  EXPECT_EQ(forged.status, 401u) << "upgrade with a forged cookie: " << forged.failure;
  Events foreign(port_, anna.cookie, "http://evil.example");
  EXPECT_EQ(foreign.status, 403u) << "upgrade from a foreign origin: " << foreign.failure;
  Events other_port(port_, anna.cookie, "http://127.0.0.1:" + std::to_string(port_ + 1));
  EXPECT_EQ(other_port.status, 403u) << "upgrade from another port's origin: " << other_port.failure;
  Events no_origin(port_, anna.cookie, "");
  EXPECT_EQ(no_origin.status, 403u) << "upgrade without Origin: " << no_origin.failure;
  Events accepted(port_, anna.cookie, own);
  EXPECT_EQ(accepted.status, 101u) << "the console's own upgrade: " << accepted.failure;
  auto hello = accepted.next();
  EXPECT_TRUE(hello && hello->value("type", "") == "hello");
}

// ----- notes -------------------------------------------------------------------------------------------------

TEST_F(Api, ANoteIsStoredPushedToWatchersAndListedNewestFirst) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  auto bert = login("bert");
  auto root = login("root");
  auto bert_events = events(bert);
  auto root_events = events(root);
  ASSERT_EQ(bert_events->status, 101u) << bert_events->failure;
  ASSERT_EQ(root_events->status, 101u) << root_events->failure;
  ASSERT_TRUE(bert_events->next_of("hello"));
  ASSERT_TRUE(root_events->next_of("hello"));
  ASSERT_TRUE(bert_events->send({{"type", "watch"}, {"customer_id", 12}}));
  ASSERT_TRUE(root_events->send({{"type", "watch"}, {"customer_id", 13}}));
  std::this_thread::sleep_for(200ms);  // the watch messages reach the server before the note

  auto first = call(anna, http::verb::post, "/api/customers/12/notes", {{"text", "Wants a callback on Monday"}});
  ASSERT_EQ(first.status, 201u) << first.show();
  const auto stored = first.parsed()["note"];
  EXPECT_EQ(stored.value("text", ""), "Wants a callback on Monday") << first.body;
  EXPECT_EQ(stored.value("customer_id", std::int64_t{0}), 12) << first.body;
  EXPECT_EQ(stored.value("agent", ""), "anna") << first.body;
  EXPECT_EQ(stored.value("operator", ""), "101") << first.body;
  EXPECT_TRUE(stored["saved_at"].is_string()) << first.body;

  auto pushed = bert_events->next_of("note");
  ASSERT_TRUE(pushed) << "the watcher of customer 12 got no note";
  EXPECT_EQ((*pushed)["note"].value("text", ""), "Wants a callback on Monday") << pushed->dump();
  EXPECT_EQ((*pushed)["note"].value("customer_id", std::int64_t{0}), 12) << pushed->dump();
  EXPECT_EQ((*pushed)["note"].value("id", std::int64_t{0}), stored.value("id", std::int64_t{-1})) << pushed->dump();
  auto elsewhere = root_events->next(500ms);
  EXPECT_FALSE(elsewhere) << "the watcher of customer 13 got: " << elsewhere->dump();

  std::this_thread::sleep_for(1100ms);  // a later second, so newest first is unambiguous
  auto second = call(anna, http::verb::post, "/api/customers/12/notes",
                     {{"text", "Called back"}, {"call_at", "2026-11-26 08:01:55"}});
  ASSERT_EQ(second.status, 201u) << second.show();
  EXPECT_EQ(second.parsed()["note"].value("call_at", ""), "2026-11-26 08:01:55") << second.body;

  auto card = get(bert, "/api/customers/12");
  ASSERT_EQ(card.status, 200u) << card.show();
  const auto notes = card.parsed()["notes"];
  ASSERT_EQ(notes.size(), 3u) << card.body;
  EXPECT_EQ(notes[0].value("text", ""), "Called back");
  EXPECT_EQ(notes[1].value("text", ""), "Wants a callback on Monday");
  EXPECT_EQ(notes[2].value("text", ""), "Called last week");
  EXPECT_EQ(card.parsed()["customer"].value("company", ""), "Novak s.r.o.");
}

// ----- bad input ---------------------------------------------------------------------------------------------

TEST_F(Api, BadRequestsGetTheirStatusAndAJsonError) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_json_error(request(port_, http::verb::post, "/api/login", "{\"name\": \"anna\", ", json_type), 400,
                    "malformed JSON login");
  auto anna = login("anna");
  const Headers auth{{"Cookie", anna.cookie}, {"X-CSRF-Token", anna.csrf}};
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", "{text: 'x'}", json_type, auth), 400,
                    "malformed JSON note");
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", "[1, 2]", json_type, auth), 400,
                    "a JSON array as the note");
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", "{\"text\": 42}", json_type, auth), 400,
                    "a number as the note's text");
  const std::string huge = json{{"text", std::string((1u << 20) + 1024, 'a')}}.dump();
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", huge, json_type, auth), 413,
                    "a note body over max_body (1MiB)");
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", json{{"text", "plain"}}.dump(),
                            "text/plain", auth),
                    415, "a JSON body sent as text/plain");
  expect_json_error(request(port_, http::verb::post, "/api/customers/12/notes", json{{"text", "none"}}.dump(), "", auth),
                    415, "a body without Content-Type");
  expect_json_error(get(anna, "/api/no-such-thing"), 404, "an unknown path");
  expect_json_error(get(anna, "/api/customers/999999"), 404, "an unknown customer");
  expect_json_error(get(anna, "/api/customers/abc"), 404, "a customer id that is no number");
  expect_json_error(call(anna, http::verb::post, "/api/customers/999999/notes", {{"text", "x"}}), 404,
                    "a note for an unknown customer");
  expect_json_error(call(anna, http::verb::put, "/api/session"), 405, "PUT /api/session");

  auto card = get(anna, "/api/customers/12");
  ASSERT_EQ(card.status, 200u);
  EXPECT_EQ(card.parsed()["notes"].size(), 1u) << "a refused note was stored: " << card.body.substr(0, 500);
}

TEST_F(Api, SqlLookingTextIsStoredAndReadBackVerbatim) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  const std::string drop = "'; DROP TABLE rules; --";
  const std::string robert = "Robert'); --";
  for (const auto& text : {drop, robert}) {
    auto r = call(anna, http::verb::post, "/api/customers/12/notes", {{"text", text}});
    ASSERT_EQ(r.status, 201u) << r.show();
    EXPECT_EQ(r.parsed()["note"].value("text", ""), text);
  }
  auto created = call(anna, http::verb::post, "/api/customers",
                      {{"project", "100"}, {"company_id", robert}, {"company", drop},
                       {"callers", {"+420 605 000 001", "", ""}}, {"operators", {"101"}}, {"street", drop},
                       {"city", robert}, {"postcode", ""}, {"note", drop}});
  ASSERT_EQ(created.status, 201u) << created.show();
  const auto id = created.parsed()["customer"].value("id", std::int64_t{0});

  auto card = get(anna, "/api/customers/" + std::to_string(id));
  ASSERT_EQ(card.status, 200u) << card.show();
  const auto c = card.parsed()["customer"];
  EXPECT_EQ(c.value("company", ""), drop);
  EXPECT_EQ(c.value("company_id", ""), robert);
  EXPECT_EQ(c.value("street", ""), drop);
  EXPECT_EQ(c.value("city", ""), robert);
  EXPECT_EQ(c.value("note", ""), drop);
  auto notes = get(anna, "/api/customers/12").parsed()["notes"];
  ASSERT_GE(notes.size(), 3u);
  std::set<std::string> texts;
  for (const auto& n : notes) texts.insert(n.value("text", ""));
  EXPECT_TRUE(texts.count(drop)) << notes.dump();
  EXPECT_TRUE(texts.count(robert)) << notes.dump();
  // The rules are all still there, and the text is searchable like any other.
  EXPECT_EQ(ids(get(anna, search("Novak"))), (std::vector<std::int64_t>{12}));
  EXPECT_EQ(ids(get(anna, search("%27%3B%20DROP%20TABLE"))), (std::vector<std::int64_t>{id}));
  EXPECT_EQ(ids(get(anna, search("Robert%27)%3B%20--"))), (std::vector<std::int64_t>{id}));
}

// ----- search ------------------------------------------------------------------------------------------------

TEST_F(Api, SearchFindsByCompanyAndByANumberHoweverWrittenAndPages) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto bert = login("bert");
  auto by_name = get(bert, search("Novak"));
  ASSERT_EQ(by_name.status, 200u) << by_name.show();
  EXPECT_EQ(ids(by_name), (std::vector<std::int64_t>{12})) << by_name.body;
  EXPECT_EQ(by_name.parsed()["customers"][0].value("company", ""), "Novak s.r.o.");
  EXPECT_EQ(ids(get(bert, search("novak"))), (std::vector<std::int64_t>{12})) << "case-insensitive";
  EXPECT_EQ(ids(get(bert, search("C13"))), (std::vector<std::int64_t>{13})) << "by company id";

  // Customer 12 was entered as "+420 602 000 012", customer 13 as "0777 000 013".
  for (const auto* q : {"602%20000%20012", "%2B420602000012", "602000012", "00420602000012", "%2B420%20602%20000%20012"})
    EXPECT_EQ(ids(get(bert, search(q))), (std::vector<std::int64_t>{12})) << "q=" << q;
  for (const auto* q : {"%2B420777000013", "777%20000%20013"})
    EXPECT_EQ(ids(get(bert, search(q))), (std::vector<std::int64_t>{13})) << "q=" << q;
  EXPECT_TRUE(ids(get(bert, search("%2B420602000099"))).empty());

  // 25 customers "Paging Co NN": three pages of 10.
  std::set<std::int64_t> seen;
  for (int page = 0; page < 3; ++page) {
    auto r = get(bert, search("Paging") + "&offset=" + std::to_string(page * 10) + "&limit=10");
    ASSERT_EQ(r.status, 200u) << r.show();
    auto got = ids(r);
    EXPECT_EQ(got.size(), page < 2 ? 10u : 5u) << "page " << page << ": " << r.body.substr(0, 300);
    EXPECT_EQ(r.parsed().value("more", page == 2), page < 2) << "page " << page;
    EXPECT_EQ(r.parsed().value("offset", -1), page * 10);
    EXPECT_EQ(r.parsed().value("limit", -1), 10);
    for (auto id : got) EXPECT_TRUE(seen.insert(id).second) << "customer " << id << " on two pages";
  }
  EXPECT_EQ(seen.size(), 25u);
  auto exact = get(bert, search("Paging") + "&offset=15&limit=10");
  EXPECT_EQ(ids(exact).size(), 10u);
  EXPECT_EQ(exact.parsed().value("more", true), false) << "the last 10 exactly: nothing more";
  auto capped = get(bert, search("Paging") + "&limit=1000");
  EXPECT_LE(capped.parsed().value("limit", 1000), 100) << "limit at most 100: " << capped.show();
}

// ----- rules import ------------------------------------------------------------------------------------------

TEST_F(Api, ARulesFileWithBadRowsIs422WithEveryProblemAndImportsNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto anna = login("anna");
  const Headers auth{{"Cookie", anna.cookie}, {"X-CSRF-Token", anna.csrf}};
  const std::string header = "id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\n";
  const std::string bad = header +
                          ";100;G1;Good Import One;603100001;;;101;;Brno;;\n"   // line 2
                          ";100;B1;Bad Number;60310000a;;;101;;;;\n"           // line 3
                          ";100;B2;Bad Operator;603100003;;;1x1;;;;\n";        // line 4
  auto refused = request(port_, http::verb::post, "/api/rules/import?project=100", bad, "text/csv", auth);
  expect_json_error(refused, 422, "a rules file with 2 bad rows");
  const auto problems = refused.parsed()["problems"];
  ASSERT_TRUE(problems.is_array()) << refused.body;
  ASSERT_EQ(problems.size(), 2u) << refused.body;
  EXPECT_EQ(problems[0].value("line", 0), 3) << refused.body;
  EXPECT_EQ(problems[0].value("column", ""), "caller1") << refused.body;
  EXPECT_NE(problems[0].value("message", "").find("60310000a"), std::string::npos) << refused.body;
  EXPECT_EQ(problems[1].value("line", 0), 4) << refused.body;
  EXPECT_EQ(problems[1].value("column", ""), "operators") << refused.body;
  EXPECT_NE(problems[1].value("message", "").find("1x1"), std::string::npos) << refused.body;
  EXPECT_TRUE(ids(get(anna, search("Good%20Import"))).empty()) << "the good row of a refused file was imported";

  const std::string good = header +
                           ";100;G1;Good Import One;603100001;;;101;;Brno;;\n"
                           ";100;G2;Good Import Two;+420 603 100 002;;;\"102;101;\";;Ostrava;;\n"
                           "12;100;C12;Novak s.r.o.;+420 602 000 012;;;\"101;102;\";;Praha;;VIP\n";
  auto imported = request(port_, http::verb::post, "/api/rules/import?project=100", good, "text/csv", auth);
  ASSERT_EQ(imported.status, 200u) << imported.show();
  auto counts = imported.parsed();
  EXPECT_EQ(counts.value("added", -1), 2) << imported.body;
  EXPECT_EQ(counts.value("updated", -1) + counts.value("unchanged", -1), 1) << "rule 12: " << imported.body;
  EXPECT_EQ(counts.value("removed", -1), 0) << "replace=0 removes nothing: " << imported.body;
  EXPECT_EQ(ids(get(anna, search("Good%20Import"))).size(), 2u);
  EXPECT_EQ(ids(get(anna, search("603100002"))).size(), 1u) << "the imported number is searchable";
  EXPECT_EQ(ids(get(anna, search("Paging"))).size(), 20u) << "the default page; other rules kept";
}

// ----- health ------------------------------------------------------------------------------------------------

TEST_F(Api, HealthzReportsThePbxLinkAndTheStorage) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto up = request(port_, http::verb::get, "/healthz");
  ASSERT_EQ(up.status, 200u) << up.show();
  auto body = up.parsed();
  EXPECT_EQ(body.value("status", ""), "ok") << up.body;
  ASSERT_TRUE(body["pbx"].is_array() && body["pbx"].size() == 1) << up.body;
  EXPECT_EQ(body["pbx"][0].value("driver", ""), "pbx") << up.body;
  EXPECT_EQ(body["pbx"][0].value("up", false), true) << up.body;
  ASSERT_TRUE(body["storage"].is_array() && body["storage"].size() == 1) << up.body;
  EXPECT_EQ(body["storage"][0].value("name", ""), "main") << up.body;
  EXPECT_EQ(body["storage"][0].value("ok", false), true) << up.body;

  pbx([](auto& d) { d.link(false, "scripted link lost"); });
  std::this_thread::sleep_for(200ms);
  auto down = request(port_, http::verb::get, "/healthz");
  EXPECT_EQ(down.status, 503u) << down.show();
  EXPECT_EQ(down.parsed().value("status", ""), "degraded") << down.body;
  EXPECT_EQ(down.parsed()["pbx"][0].value("up", true), false) << down.body;
}
