#include "console_api.hpp"

#include <algorithm>
#include <charconv>
#include <future>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "switchboard/core/agent_commands.hpp"
#include "switchboard/core/event_hub.hpp"
#include "switchboard/core/rules_csv.hpp"
#include "switchboard/core/runtime.hpp"
#include "switchboard/sdk/call_log_format.hpp"
#include "switchboard/sdk/routing.hpp"

namespace switchboard::core {
namespace asio = sdk::asio;
using json = nlohmann::json;
using sdk::ConfigSchema;
using sdk::TypeSpec;
using sdk::ValueType;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* cookie_name = "switchboard_session";
constexpr std::size_t max_queued_hashes = 64;
constexpr std::size_t max_page = 100;

std::string random_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string cookie_value(const std::string& header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  return {};
}

// Whole seconds, as people read them in the console (the CLI's files keep milliseconds).
std::string api_time(sdk::TimePoint t) { return format_local_time(std::chrono::floor<std::chrono::seconds>(t)); }

json time_or_null(const std::optional<sdk::TimePoint>& t) { return t ? json(api_time(*t)) : json(nullptr); }

json agent_json(const sdk::Agent& a) {
  return {{"name", a.name},
          {"extension", a.extension},
          {"role", a.role == sdk::AgentRole::administrator ? "administrator" : "agent"},
          {"may_edit_central_list", a.may_edit_central_list},
          {"may_edit_own_list", a.may_edit_own_list},
          {"call_module", a.call_module},
          {"group", a.group},
          {"last_ip", a.last_ip},
          {"start", time_or_null(a.start)},
          {"stop", time_or_null(a.stop)},
          {"logged_in", a.start.has_value() && !a.stop.has_value()}};
}

json customer_json(const sdk::Rule& r) {
  return {{"id", r.id},           {"project", r.project},   {"company_id", r.company_id},
          {"company", r.company}, {"callers", r.callers},   {"operators", r.operators},
          {"street", r.street},   {"city", r.city},         {"postcode", r.postcode},
          {"note", r.note}};
}

json note_json(const sdk::Note& n) {
  return {{"id", n.id},
          {"customer_id", n.rule_id},
          {"saved_at", api_time(n.saved_at)},
          {"call_at", time_or_null(n.call_at)},
          {"operator", n.operator_extension},
          {"agent", n.agent},
          {"text", n.text}};
}

HttpResponse ok_json(const json& body, unsigned status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse storage_failed(const sdk::Error& e) {
  return json_error(e.code == sdk::ErrorCode::not_found ? 404 : 503, "the storage refused: " + e.message);
}

HttpResponse problems_response(const std::string& what, const std::vector<FileProblem>& problems) {
  json list = json::array();
  for (const auto& p : problems) list.push_back({{"line", p.line}, {"column", p.column}, {"message", p.message}});
  auto r = ok_json({{"error", fmt::format("{}: {} {}; nothing was changed", what, problems.size(),
                                          problems.size() == 1 ? "problem" : "problems")},
                    {"problems", list}},
                   422);
  return r;
}

// The JSON body of a request, or the refusal.
std::optional<json> json_body(const HttpRequest& request, HttpResponse& refusal) {
  if (request.content_type != "application/json") {
    refusal = json_error(415, "send the body as JSON with Content-Type: application/json");
    return std::nullopt;
  }
  auto body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    refusal = json_error(400, "the body is not a JSON object; send e.g. {\"name\": \"anna\", \"password\": \"...\"}");
    return std::nullopt;
  }
  return body;
}

// A string member: nullopt when absent; false (with the refusal) when it is not a string.
bool string_field(const json& body, const char* key, std::optional<std::string>& out, HttpResponse& refusal) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_string()) {
    refusal = json_error(400, fmt::format("\"{}\" must be a string", key));
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool bool_field(const json& body, const char* key, std::optional<bool>& out, HttpResponse& refusal) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return true;
  if (!it->is_boolean()) {
    refusal = json_error(400, fmt::format("\"{}\" must be true or false", key));
    return false;
  }
  out = it->get<bool>();
  return true;
}

std::optional<std::int64_t> to_id(std::string_view s) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size() || id <= 0) return std::nullopt;
  return id;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// The agent fields of a create or change request; false with the refusal when one is wrong.
bool apply_agent_fields(const json& body, sdk::Agent& agent, HttpResponse& refusal) {
  std::optional<std::string> extension, group, role;
  std::optional<bool> central, own, call_module;
  if (!string_field(body, "extension", extension, refusal) || !string_field(body, "group", group, refusal) ||
      !string_field(body, "role", role, refusal) || !bool_field(body, "may_edit_central_list", central, refusal) ||
      !bool_field(body, "may_edit_own_list", own, refusal) || !bool_field(body, "call_module", call_module, refusal))
    return false;
  if (extension && !extension->empty() && !sdk::is_digits(*extension)) {
    refusal = json_error(400, "the extension must be digits only, not \"" + *extension + "\"");
    return false;
  }
  if (group && !group->empty() && !sdk::is_digits(*group)) {
    refusal = json_error(400, "the SA group must be a number (digits only), not \"" + *group + "\"");
    return false;
  }
  if (role && *role != "agent" && *role != "administrator") {
    refusal = json_error(400, "the role is agent or administrator, not \"" + *role + "\"");
    return false;
  }
  if (extension) agent.extension = *extension;
  if (group) agent.group = *group;
  if (role) agent.role = *role == "administrator" ? sdk::AgentRole::administrator : sdk::AgentRole::agent;
  if (central) agent.may_edit_central_list = *central;
  if (own) agent.may_edit_own_list = *own;
  if (call_module) agent.call_module = *call_module;
  return true;
}

bool valid_agent_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::none_of(name.begin(), name.end(),
                      [](unsigned char c) { return c <= ' ' || c == 0x7f || c == '/' || c == '"' || c == '\\'; });
}

}  // namespace

struct ConsoleApi::Caller {
  std::string token;
  sdk::Agent agent;
  bool administrator() const { return agent.role == sdk::AgentRole::administrator; }
  bool may_take_calls() const { return administrator() || agent.call_module; }
  bool may_edit_central() const { return administrator() || agent.may_edit_central_list; }
};

ConfigSchema ConsoleApi::schema() {
  ConfigSchema tls;
  tls.add("certificate", ValueType::string).doc("PEM certificate chain file; with `key`, the API speaks HTTPS and wss://.");
  tls.add("key", ValueType::string).doc("PEM private key file of the certificate.");
  ConfigSchema limit;
  limit.add("per_name", ValueType::integer).range(1, 10'000).default_value(5)
      .doc("Failed logins for one agent name within `window` after which that name is refused (429).");
  limit.add("per_address", ValueType::integer).range(1, 100'000).default_value(20)
      .doc("Failed logins from one address within `window` after which that address is refused (429).");
  limit.add("window", ValueType::duration).range(1'000, 86'400'000).default_value("1m")
      .doc("How long a failed login counts.");
  ConfigSchema api;
  api.add("enabled", ValueType::boolean).default_value(false)
      .doc("Serve the web console and the HTTP API (docs/api.md) from `serve`.");
  api.add("listen", ValueType::string).default_value("127.0.0.1:8080")
      .doc("Address and port of the console and the API; port 0 takes any free port (logged).");
  api.add("web_root", ValueType::string).default_value("")
      .doc("Folder of the console's static files; empty: the `web` folder installed with the host "
           "(share/switchboard/web beside its bin folder).");
  api.add("storage", ValueType::string).default_value("")
      .doc("The storage instance of agents, customers and notes; empty: the call log's storage, or the only one.");
  api.add("tls", TypeSpec::object_of(tls)).doc("HTTPS: both files, or neither for plain HTTP.");
  api.add("session_timeout", ValueType::duration).range(1'000, 604'800'000).default_value("8h")
      .doc("A session unused this long ends; the agent's Stop is recorded.");
  api.add("max_body", ValueType::size).default_value("1MiB").doc("Largest JSON request body (413 above).");
  api.add("max_import_body", ValueType::size).default_value("64MiB")
      .doc("Largest rules file posted to /api/rules/import (413 above).");
  api.add("login_limit", TypeSpec::object_of(limit)).doc("Login attempts per name and per address.");
  api.add("max_hashing", ValueType::integer).range(1, 64).default_value(2)
      .doc("Password hashes computed at once (argon2id takes about 64 MiB and tens of milliseconds each); "
           "further logins wait their turn.");
  return api;
}

std::optional<sdk::Endpoint> ConsoleApi::listen_endpoint(const std::string& text) {
  const bool any_port = text.size() > 2 && text.compare(text.size() - 2, 2, ":0") == 0;
  auto endpoint = sdk::detail::parse_endpoint(any_port ? text.substr(0, text.size() - 1) + "1" : text);
  if (endpoint && any_port) endpoint->port = 0;
  return endpoint;
}

ConsoleApi::ConsoleApi(const sdk::Settings& api, ConsoleApiWiring wiring)
    : w_(std::move(wiring)),
      session_timeout_(api.duration("session_timeout")),
      max_body_(api.size("max_body")),
      max_import_body_(api.size("max_import_body")),
      per_name_(static_cast<std::size_t>(api.object("login_limit").integer("per_name"))),
      per_address_(static_cast<std::size_t>(api.object("login_limit").integer("per_address"))),
      window_(api.object("login_limit").duration("window")),
      max_hashing_(static_cast<std::size_t>(api.integer("max_hashing"))),
      strand_(asio::make_strand(w_.runtime->io_context())) {
  for (const auto& d : w_.drivers) links_[d] = false;
}

ConsoleApi::~ConsoleApi() = default;

template <class T, class Op>
void ConsoleApi::with_storage(Op op, std::function<void(sdk::Result<T>)> then) {
  asio::post(*w_.storage_strand, [storage = w_.storage, op = std::move(op), then = std::move(then)]() mutable {
    op(*storage, sdk::ResultCallback<T>(std::move(then)));
  });
}

void ConsoleApi::with_customer(std::int64_t id, const Respond& respond, std::function<void(sdk::Rule)> then) {
  with_storage<std::vector<sdk::Rule>>([id](sdk::Storage& s, auto cb) { s.get_rules({id}, std::move(cb)); },
                                       [id, respond, then = std::move(then)](sdk::Result<std::vector<sdk::Rule>> rules) {
                                         if (!rules) return respond(storage_failed(rules.error()));
                                         if (rules->empty()) return respond(json_error(404, fmt::format("no customer {}", id)));
                                         then(std::move(rules->front()));
                                       });
}

void ConsoleApi::start(sdk::Completion done) {
  auto self = shared_from_this();
  links_subscription_ = w_.runtime->events().subscribe(
      strand_,
      [self](const sdk::Event& event) {
        if (const auto* link = std::get_if<sdk::LinkEvent>(&event)) {
          std::lock_guard lock(self->mutex_);
          self->links_[link->driver] = link->up;
        }
      },
      EventHub::Filter::links);
  if (auto* engine = w_.runtime->engine()) {
    std::weak_ptr<ConsoleApi> weak = self;
    w_.runtime->on_engine([engine, weak] {
      engine->on_ringing([weak](const RingingCall& call) {
        if (auto api = weak.lock()) api->ringing(call);
      });
    });
  }
  sweep_timer_ = std::make_unique<asio::steady_timer>(strand_);
  sweep();
  with_storage<std::vector<sdk::Agent>>([](sdk::Storage& s, auto cb) { s.load_agents(std::move(cb)); },
                                        [self, done = std::move(done)](sdk::Result<std::vector<sdk::Agent>> agents) {
                                          if (!agents) return done(agents.error());
                                          std::lock_guard lock(self->mutex_);
                                          for (auto& a : *agents) self->agents_[a.name] = std::move(a);
                                          done({});
                                        });
}

void ConsoleApi::stop() {
  std::vector<std::shared_ptr<EventSocket>> to_close;
  std::vector<std::string> agents;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& [token, session] : sessions_) agents.push_back(session.agent);
    sessions_.clear();
    for (auto& [raw, entry] : sockets_)
      if (auto s = entry.socket.lock()) to_close.push_back(std::move(s));
    sockets_.clear();
  }
  for (auto& s : to_close) s->close();
  std::sort(agents.begin(), agents.end());
  agents.erase(std::unique(agents.begin(), agents.end()), agents.end());
  // The process ends these sessions: Stop is stored before the storage stops.
  std::vector<std::future<void>> saved;
  for (const auto& name : agents) {
    auto done = std::make_shared<std::promise<void>>();
    saved.push_back(done->get_future());
    record_stop(name, [done] { done->set_value(); });
  }
  for (auto& f : saved) f.wait_for(std::chrono::seconds(5));
  links_subscription_.reset();
  std::promise<void> cancelled;
  asio::post(strand_, [this, &cancelled] {
    if (sweep_timer_) sweep_timer_->cancel();
    cancelled.set_value();
  });
  cancelled.get_future().wait();
}

// ----- sessions --------------------------------------------------------------------------------------------

std::string ConsoleApi::session_cookie(const std::string& token, bool secure, bool expire) const {
  return fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/{}{}", cookie_name, expire ? "" : token,
                     secure ? "; Secure" : "", expire ? "; Max-Age=0" : "");
}

std::optional<ConsoleApi::Caller> ConsoleApi::authenticate(const HttpRequest& request, HttpResponse& refusal) {
  const std::string token = cookie_value(request.cookie, cookie_name);
  std::vector<std::shared_ptr<EventSocket>> to_close;
  std::optional<Caller> caller;
  std::string expired_agent;
  {
    std::lock_guard lock(mutex_);
    auto it = token.empty() ? sessions_.end() : sessions_.find(token);
    if (it == sessions_.end()) {
      refusal = json_error(401, "not logged in: log in with POST /api/login first");
      return std::nullopt;
    }
    const auto now = Clock::now();
    auto agent = agents_.find(it->second.agent);
    if (now - it->second.last_used > session_timeout_ || agent == agents_.end()) {
      expired_agent = it->second.agent;
      end_session_locked(token, to_close);
      refusal = json_error(401, agent == agents_.end() ? "your agent was removed; ask an administrator"
                                                       : "your session expired; log in again");
    } else {
      it->second.last_used = now;
      caller = Caller{token, agent->second};
    }
  }
  for (auto& s : to_close) s->close();
  if (!expired_agent.empty()) record_stop(expired_agent);
  return caller;
}

void ConsoleApi::end_session_locked(const std::string& token, std::vector<std::shared_ptr<EventSocket>>& to_close) {
  sessions_.erase(token);
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (it->second.token == token) {
      if (auto s = it->second.socket.lock()) to_close.push_back(std::move(s));
      it = sockets_.erase(it);
    } else {
      ++it;
    }
  }
}

// Stop is recorded when the agent's last session ends (an agent may have the console open twice).
void ConsoleApi::record_stop(const std::string& name, std::function<void()> saved) {
  sdk::Agent agent;
  {
    std::lock_guard lock(mutex_);
    const bool still_in = std::any_of(sessions_.begin(), sessions_.end(),
                                      [&](const auto& entry) { return entry.second.agent == name; });
    auto it = agents_.find(name);
    if (still_in || it == agents_.end()) {
      if (saved) saved();
      return;
    }
    it->second.stop = std::chrono::system_clock::now();
    agent = it->second;
  }
  with_storage<sdk::Agent>([agent](sdk::Storage& s, auto cb) { s.save_agent(agent, std::move(cb)); },
                           [log = w_.log, name, saved = std::move(saved)](sdk::Result<sdk::Agent> r) {
                             if (!r) log->error("cannot record the logout of {}: {}", name, r.error().message);
                             if (saved) saved();
                           });
}

void ConsoleApi::sweep() {
  std::vector<std::string> expired;
  std::vector<std::shared_ptr<EventSocket>> to_close;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    const auto now = Clock::now();
    std::vector<std::string> tokens;
    for (const auto& [token, session] : sessions_)
      if (now - session.last_used > session_timeout_) tokens.push_back(token);
    for (const auto& t : tokens) {
      expired.push_back(sessions_[t].agent);
      end_session_locked(t, to_close);
    }
    auto prune = [&](auto& failures) {
      for (auto it = failures.begin(); it != failures.end();) {
        while (!it->second.empty() && now - it->second.front() > window_) it->second.pop_front();
        it = it->second.empty() ? failures.erase(it) : std::next(it);
      }
    };
    prune(failures_by_name_);
    prune(failures_by_address_);
  }
  for (auto& s : to_close) s->close();
  for (const auto& a : expired) {
    w_.log->info("session of {} expired", a);
    record_stop(a);
  }
  sweep_timer_->expires_after(std::clamp<std::chrono::milliseconds>(session_timeout_ / 4, std::chrono::milliseconds(100),
                                                                    std::chrono::seconds(30)));
  sweep_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->sweep();
  });
}

std::optional<std::chrono::seconds> ConsoleApi::login_limited_locked(const std::string& name,
                                                                     const std::string& address, Clock::time_point now) {
  std::optional<Clock::time_point> until;
  auto check = [&](auto& failures, const std::string& key, std::size_t limit) {
    auto it = failures.find(key);
    if (it == failures.end()) return;
    auto& times = it->second;
    while (!times.empty() && now - times.front() > window_) times.pop_front();
    if (times.size() >= limit) {
      auto free_at = times[times.size() - limit] + window_;
      if (!until || free_at > *until) until = free_at;
    }
  };
  check(failures_by_name_, name, per_name_);
  check(failures_by_address_, address, per_address_);
  if (!until) return std::nullopt;
  auto wait = std::chrono::ceil<std::chrono::seconds>(*until - now);
  return std::max(wait, std::chrono::seconds(1));
}

bool ConsoleApi::hash_later(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  if (hashing_ < max_hashing_) {
    ++hashing_;
    w_.runtime->run_blocking([self = shared_from_this(), job = std::move(job)] {
      job();
      self->hash_finished();
    });
    return true;
  }
  if (hash_queue_.size() >= max_queued_hashes) return false;
  hash_queue_.push_back(std::move(job));
  return true;
}

void ConsoleApi::hash_finished() {
  std::function<void()> next;
  {
    std::lock_guard lock(mutex_);
    if (hash_queue_.empty()) {
      --hashing_;
      return;
    }
    next = std::move(hash_queue_.front());
    hash_queue_.pop_front();
  }
  w_.runtime->run_blocking([self = shared_from_this(), next = std::move(next)] {
    next();
    self->hash_finished();
  });
}

// ----- routing of requests ---------------------------------------------------------------------------------

std::uint64_t ConsoleApi::body_limit(const std::string& method, const std::string& path) const {
  return path == "/api/rules/import" ? max_import_body_ : max_body_;
}

void ConsoleApi::handle(HttpRequest request, Respond respond) {
  const auto& m = request.method;
  if (request.path == "/healthz") {
    if (m != "GET") return respond(json_error(405, "use GET /healthz"));
    return healthz(std::move(respond));
  }
  if (request.path == "/api/login") {
    if (m != "POST") return respond(json_error(405, "log in with POST /api/login and {\"name\", \"password\"}"));
    return login(std::move(request), std::move(respond));
  }
  HttpResponse refusal;
  auto caller = authenticate(request, refusal);
  if (!caller) return respond(std::move(refusal));
  const bool changes = m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
  if (changes) {
    std::string expected;
    {
      std::lock_guard lock(mutex_);
      if (auto it = sessions_.find(caller->token); it != sessions_.end()) expected = it->second.csrf_token;
    }
    if (!same_secret(expected, request.csrf_token))
      return respond(json_error(403, "missing or wrong CSRF token: send the X-CSRF-Token header with the csrf_token "
                                     "that the login (or GET /api/session) returned"));
  }
  const auto parts = split_path(request.path);  // "api", ...
  const auto n = parts.size();
  auto is = [&](std::initializer_list<const char*> want) {
    if (want.size() != n) return false;
    std::size_t i = 0;
    for (const char* w : want) {
      if (*w != '*' && parts[i] != w) return false;
      ++i;
    }
    return true;
  };
  auto forbidden = [&](const char* what) { respond(json_error(403, std::string("not allowed: ") + what)); };
  auto wrong_method = [&] { respond(json_error(405, m + " is not allowed on " + request.path)); };
  auto id_at = [&](std::size_t i) { return to_id(parts[i]); };

  if (is({"api", "logout"})) return m == "POST" ? logout(*caller, std::move(respond)) : wrong_method();
  if (is({"api", "session"})) {
    if (m != "GET") return wrong_method();
    std::string csrf;
    {
      std::lock_guard lock(mutex_);
      if (auto it = sessions_.find(caller->token); it != sessions_.end()) csrf = it->second.csrf_token;
    }
    return respond(ok_json({{"agent", agent_json(caller->agent)}, {"csrf_token", csrf}}));
  }
  if (is({"api", "events"}))
    return respond(json_error(426, "/api/events is a WebSocket: open it with new WebSocket(...)"));
  if (is({"api", "customers"})) {
    if (m == "GET") return search_customers(request, std::move(respond));
    if (m != "POST") return wrong_method();
    if (!caller->may_edit_central()) return forbidden("changing customers needs the \"may edit central list\" permission");
    return write_customer(*caller, request, 0, std::move(respond));
  }
  if (is({"api", "customers", "*"})) {
    auto id = id_at(2);
    if (!id) return respond(json_error(404, "no customer " + parts[2] + ": customer ids are positive numbers"));
    if (m == "GET") return get_customer(*id, std::move(respond));
    if (m != "PUT" && m != "DELETE") return wrong_method();
    if (!caller->may_edit_central()) return forbidden("changing customers needs the \"may edit central list\" permission");
    if (m == "PUT") return write_customer(*caller, request, *id, std::move(respond));
    return delete_customer(*id, std::move(respond));
  }
  if (is({"api", "customers", "*", "notes"})) {
    auto id = id_at(2);
    if (!id) return respond(json_error(404, "no customer " + parts[2] + ": customer ids are positive numbers"));
    if (m != "POST") return wrong_method();
    if (!caller->may_take_calls()) return forbidden("writing notes needs the call module");
    return add_note(*caller, *id, request, std::move(respond));
  }
  if (is({"api", "missed"})) {
    if (m != "GET") return wrong_method();
    if (!caller->may_take_calls()) return forbidden("missed calls need the call module");
    return missed(*caller, request, std::move(respond));
  }
  if (is({"api", "missed", "*", "done"})) {
    auto id = id_at(2);
    if (!id) return respond(json_error(404, "no missed call " + parts[2]));
    if (m != "POST") return wrong_method();
    if (!caller->may_take_calls()) return forbidden("missed calls need the call module");
    return missed_done(*caller, *id, std::move(respond));
  }
  if (is({"api", "groups"})) return m == "GET" ? groups(*caller, std::nullopt, std::move(respond)) : wrong_method();
  if (is({"api", "groups", "join"}) || is({"api", "groups", "leave"})) {
    if (m != "POST") return wrong_method();
    if (!caller->may_take_calls()) return forbidden("joining an SA group needs the call module");
    return groups(*caller, parts[2] == "join", std::move(respond));
  }
  if (n >= 2 && parts[0] == "api" && parts[1] == "agents") {
    if (!caller->administrator()) return forbidden("managing agents is for administrators");
    if (n == 2) {
      if (m == "GET") return list_agents(std::move(respond));
      if (m == "POST") return create_agent(request, std::move(respond));
      return wrong_method();
    }
    if (n == 3) {
      if (m == "PATCH") return change_agent(*caller, parts[2], request, std::move(respond));
      if (m == "DELETE") return remove_agent(*caller, parts[2], std::move(respond));
      return wrong_method();
    }
  }
  if (n == 3 && parts[0] == "api" && parts[1] == "rules") {
    if (!caller->may_edit_central()) return forbidden("the rules need the \"may edit central list\" permission");
    if (parts[2] == "export") return m == "GET" ? export_rules(request, false, std::move(respond)) : wrong_method();
    if (parts[2] == "history") return m == "GET" ? export_rules(request, true, std::move(respond)) : wrong_method();
    if (parts[2] == "import") return m == "POST" ? import_rules(request, std::move(respond)) : wrong_method();
  }
  if (is({"api", "calllog", "export-and-clear"})) {
    if (!caller->administrator()) return forbidden("exporting and clearing the call log is for administrators");
    return m == "POST" ? export_and_clear_calls(std::move(respond)) : wrong_method();
  }
  respond(json_error(404, "no API endpoint " + m + " " + request.path + " (see docs/api.md)"));
}

// ----- login -----------------------------------------------------------------------------------------------

void ConsoleApi::login(HttpRequest request, Respond respond) {
  HttpResponse refusal;
  auto body = json_body(request, refusal);
  if (!body) return respond(std::move(refusal));
  std::optional<std::string> name, password;
  if (!string_field(*body, "name", name, refusal) || !string_field(*body, "password", password, refusal))
    return respond(std::move(refusal));
  if (!name || !password || name->empty())
    return respond(json_error(400, "log in with {\"name\": \"...\", \"password\": \"...\"}"));
  std::string hash;
  {
    std::lock_guard lock(mutex_);
    if (auto wait = login_limited_locked(*name, request.remote_address, Clock::now())) {
      auto r = json_error(429, fmt::format("too many failed logins; try again in {} s", wait->count()));
      r.headers.emplace_back("Retry-After", std::to_string(wait->count()));
      return respond(std::move(r));
    }
  }
  // The agent as stored now: a password or right changed with `switchboard agents` counts from the next login.
  auto self = shared_from_this();
  with_storage<std::vector<sdk::Agent>>(
      [](sdk::Storage& s, auto cb) { s.load_agents(std::move(cb)); },
      [self, request = std::move(request), name = *name, password = std::move(*password),
       respond](sdk::Result<std::vector<sdk::Agent>> agents) mutable {
        if (!agents) return respond(storage_failed(agents.error()));
        std::string hash;
        {
          std::lock_guard lock(self->mutex_);
          std::map<std::string, sdk::Agent> fresh;
          for (auto& a : *agents) {
            // Start/Stop/last IP as this host keeps them: the stored copy may lag behind a save in flight.
            if (auto known = self->agents_.find(a.name); known != self->agents_.end()) {
              a.start = known->second.start;
              a.stop = known->second.stop;
              a.last_ip = known->second.last_ip;
            }
            fresh[a.name] = std::move(a);
          }
          self->agents_ = std::move(fresh);
          if (auto it = self->agents_.find(name); it != self->agents_.end()) hash = it->second.password_hash;
        }
        self->verify_login(std::move(request), std::move(name), std::move(password), std::move(hash),
                           std::move(respond));
      });
}

void ConsoleApi::verify_login(HttpRequest request, std::string name, std::string password, std::string hash,
                              Respond respond) {
  auto self = shared_from_this();
  auto job = [self, request = std::move(request), name = std::move(name), password = std::move(password), hash,
              respond]() mutable {
    bool known = !hash.empty();
    if (!known) {
      // Unknown names take as long as known ones: the answer's timing tells nothing.
      static const std::string dummy = hash_password("not the password of anybody").value_or("");
      verify_password(dummy, password);
    }
    const bool good = known && verify_password(hash, password);
    sodium_memzero(password.data(), password.size());
    const auto now = Clock::now();
    if (!good) {
      {
        std::lock_guard lock(self->mutex_);
        self->failures_by_name_[name].push_back(now);
        self->failures_by_address_[request.remote_address].push_back(now);
      }
      self->w_.log->warn("login refused name={} address={}", name, request.remote_address);
      return respond(json_error(401, "wrong name or password"));
    }
    sdk::Agent agent;
    std::string token = random_token();
    std::string csrf = random_token();
    {
      std::lock_guard lock(self->mutex_);
      self->failures_by_name_.erase(name);
      auto it = self->agents_.find(name);
      if (it == self->agents_.end()) return respond(json_error(401, "wrong name or password"));
      it->second.start = std::chrono::system_clock::now();
      it->second.stop.reset();
      it->second.last_ip = request.remote_address;
      agent = it->second;
      self->sessions_[token] = Session{name, csrf, now};
    }
    self->w_.log->info("login name={} address={}", name, request.remote_address);
    HttpResponse r = ok_json({{"agent", agent_json(agent)}, {"csrf_token", csrf}});
    r.headers.emplace_back("Set-Cookie", self->session_cookie(token, request.secure, false));
    self->with_storage<sdk::Agent>([agent](sdk::Storage& s, auto cb) { s.save_agent(agent, std::move(cb)); },
                                   [self, r = std::move(r), respond, name](sdk::Result<sdk::Agent> saved) mutable {
                                     if (!saved)
                                       self->w_.log->error("cannot record the login of {}: {}", name,
                                                           saved.error().message);
                                     respond(std::move(r));
                                   });
  };
  if (!hash_later(std::move(job))) {
    auto r = json_error(503, "too many logins at once; try again in a second");
    r.headers.emplace_back("Retry-After", "1");
    respond(std::move(r));
  }
}

void ConsoleApi::logout(const Caller& caller, Respond respond) {
  std::vector<std::shared_ptr<EventSocket>> to_close;
  {
    std::lock_guard lock(mutex_);
    end_session_locked(caller.token, to_close);
  }
  for (auto& s : to_close) s->close();
  record_stop(caller.agent.name);
  w_.log->info("logout name={}", caller.agent.name);
  HttpResponse r = ok_json({{"ok", true}});
  r.headers.emplace_back("Set-Cookie", session_cookie("", false, true));
  respond(std::move(r));
}

void ConsoleApi::healthz(Respond respond) {
  json pbx = json::array();
  bool all_up = true;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [driver, up] : links_) {
      pbx.push_back({{"driver", driver}, {"up", up}});
      all_up = all_up && up;
    }
  }
  // A read that touches the database: a storage that cannot answer it is not healthy.
  with_storage<std::vector<sdk::CallRecord>>(
      [](sdk::Storage& s, auto cb) { s.read_calls(std::numeric_limits<std::uint64_t>::max(), 1, std::move(cb)); },
      [pbx, all_up, name = w_.storage_name, respond](sdk::Result<std::vector<sdk::CallRecord>> read) {
        json storage = json::array({{{"name", name}, {"ok", read.ok()}}});
        if (!read) storage[0]["error"] = read.error().message;
        const bool ok = all_up && read.ok();
        respond(ok_json({{"status", ok ? "ok" : "degraded"}, {"pbx", pbx}, {"storage", storage}}, ok ? 200 : 503));
      });
}

// ----- customers and notes ---------------------------------------------------------------------------------

void ConsoleApi::search_customers(const HttpRequest& request, Respond respond) {
  sdk::RuleQuery query;
  auto get = [&](const char* key) {
    auto it = request.query.find(key);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string q = get("q");
  std::int64_t offset = 0, limit = 20;
  if (auto o = get("offset"); !o.empty() && !sdk::detail::parse_integer(o, offset)) offset = -1;
  if (auto l = get("limit"); !l.empty() && !sdk::detail::parse_integer(l, limit)) limit = -1;
  if (offset < 0 || limit < 1)
    return respond(json_error(400, fmt::format("offset must be 0 or more and limit 1 to {}", max_page)));
  limit = std::min<std::int64_t>(limit, max_page);
  // A phone number however written ("602 000 012", "+420602000012") is looked up in its normalised form.
  std::string digits;
  bool number_like = !q.empty();
  for (char c : q) {
    if (std::isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
    else if (c != ' ' && c != '+' && c != '-' && c != '(' && c != ')' && c != '/' && c != '.') number_like = false;
  }
  if (number_like && digits.size() >= 3) {
    if (auto normalised = w_.plan.normalise(q)) query.number_normalised = *normalised;
  }
  if (query.number_normalised.empty()) query.text = q;
  query.offset = static_cast<std::size_t>(offset);
  query.limit = static_cast<std::size_t>(limit) + 1;  // one more tells whether there is a next page
  auto finish = [offset, limit, respond](sdk::Result<std::vector<sdk::Rule>> found) {
    if (!found) return respond(storage_failed(found.error()));
    json list = json::array();
    for (std::size_t i = 0; i < found->size() && i < static_cast<std::size_t>(limit); ++i)
      list.push_back(customer_json((*found)[i]));
    respond(ok_json({{"customers", list},
                     {"offset", offset},
                     {"limit", limit},
                     {"more", found->size() > static_cast<std::size_t>(limit)}}));
  };
  auto self = shared_from_this();
  with_storage<std::vector<sdk::Rule>>(
      [query](sdk::Storage& s, auto cb) { s.search_rules(query, std::move(cb)); },
      [self, query, q, finish](sdk::Result<std::vector<sdk::Rule>> found) mutable {
        // Digits that are no customer's number may be a company id: look again as text.
        if (found && found->empty() && !query.number_normalised.empty()) {
          query.number_normalised.clear();
          query.text = q;
          return self->with_storage<std::vector<sdk::Rule>>(
              [query](sdk::Storage& s, auto cb) { s.search_rules(query, std::move(cb)); }, finish);
        }
        finish(std::move(found));
      });
}

void ConsoleApi::get_customer(std::int64_t id, Respond respond) {
  auto self = shared_from_this();
  with_customer(id, respond, [self, id, respond](sdk::Rule rule) {
    self->with_storage<std::vector<sdk::Note>>(
        [id](sdk::Storage& s, auto cb) { s.notes_for(id, std::move(cb)); },
        [customer = customer_json(rule), respond](sdk::Result<std::vector<sdk::Note>> notes) {
          if (!notes) return respond(storage_failed(notes.error()));
          json list = json::array();
          for (const auto& n : *notes) list.push_back(note_json(n));
          respond(ok_json({{"customer", customer}, {"notes", list}}));
        });
  });
}

// A customer from JSON, checked as one row of a rules file: the same rules and messages as an import.
void ConsoleApi::write_customer(const Caller& caller, const HttpRequest& request, std::int64_t id, Respond respond) {
  HttpResponse refusal;
  auto body = json_body(request, refusal);
  if (!body) return respond(std::move(refusal));
  std::vector<std::string> cells(rule_columns().size());
  cells[0] = id ? std::to_string(id) : "";
  static const std::pair<const char*, std::size_t> text_fields[] = {
      {"project", 1}, {"company_id", 2}, {"company", 3}, {"street", 8}, {"city", 9}, {"postcode", 10}, {"note", 11}};
  for (const auto& [key, column] : text_fields) {
    std::optional<std::string> value;
    if (!string_field(*body, key, value, refusal)) return respond(std::move(refusal));
    cells[column] = value.value_or("");
  }
  if (auto callers = body->find("callers"); callers != body->end() && !callers->is_null()) {
    if (!callers->is_array() || callers->size() > 3 ||
        std::any_of(callers->begin(), callers->end(), [](const json& c) { return !c.is_string(); }))
      return respond(json_error(400, "\"callers\" must be a list of up to three phone numbers (strings)"));
    for (std::size_t i = 0; i < callers->size(); ++i) cells[4 + i] = (*callers)[i].get<std::string>();
  }
  if (auto operators = body->find("operators"); operators != body->end() && !operators->is_null()) {
    if (operators->is_string()) {
      cells[7] = operators->get<std::string>();
    } else if (operators->is_array() &&
               std::all_of(operators->begin(), operators->end(), [](const json& o) { return o.is_string(); })) {
      for (const auto& o : *operators) cells[7] += o.get<std::string>() + ";";
    } else {
      return respond(json_error(400, "\"operators\" must be a list of extensions (strings)"));
    }
  }
  CsvTable table;
  table.header = rule_columns();
  table.rows.push_back(CsvRow{2, std::move(cells)});
  std::vector<FileProblem> problems;
  RulesFile file = parse_rules(table, w_.plan, std::nullopt, problems);
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + (p.column.empty() ? "" : p.column + ": ") + p.message;
    return respond(json_error(400, message));
  }
  auto self = shared_from_this();
  auto write = [self, file = std::move(file), respond]() mutable {
    self->with_storage<std::vector<sdk::RuleKeys>>(
        [](sdk::Storage& s, auto cb) { s.load_rule_keys(std::move(cb)); },
        [self, file = std::move(file), respond](sdk::Result<std::vector<sdk::RuleKeys>> stored) mutable {
          if (!stored) return respond(storage_failed(stored.error()));
          std::vector<FileProblem> problems;
          check_against_stored(file, nullptr, *stored, sdk::RuleWriteMode::upsert, "", problems);
          if (!problems.empty()) {
            std::string message;
            for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p.message;
            return respond(json_error(409, message));
          }
          sdk::RuleWrite write;
          write.rules = std::move(file.rules);
          self->with_storage<sdk::RuleWriteSummary>(
              [write = std::move(write)](sdk::Storage& s, auto cb) mutable { s.write_rules(std::move(write), std::move(cb)); },
              [self, respond](sdk::Result<sdk::RuleWriteSummary> summary) {
                if (!summary) return respond(storage_failed(summary.error()));
                self->reload_customers();
                const auto id = summary->written.empty() ? 0 : summary->written.front().id;
                const bool created = summary->added > 0;
                self->get_customer(id, [respond, created](HttpResponse r) {
                  if (r.status == 200) {
                    auto body = json::parse(r.body);
                    r = ok_json({{"customer", body["customer"]}}, created ? 201 : 200);
                  }
                  respond(std::move(r));
                });
              });
        });
  };
  if (id == 0) return write();
  // PUT changes a customer that exists; it does not create one under a made-up id.
  with_customer(id, respond, [write](sdk::Rule) mutable { write(); });
}

void ConsoleApi::delete_customer(std::int64_t id, Respond respond) {
  auto self = shared_from_this();
  with_customer(id, respond, [self, id, respond](sdk::Rule) {
    self->w_.storage->delete_rule(id, [self, respond](sdk::Status s) {
      if (!s.ok()) return respond(storage_failed(s.error()));
      self->reload_customers();
      respond(ok_json({{"ok", true}}));
    });
  });
}

void ConsoleApi::reload_customers() {
  auto* engine = w_.runtime->engine();
  if (!engine) return;
  auto log = w_.log;
  asio::post(w_.runtime->engine_strand(), [engine, log] {
    engine->reload_indexes([log](sdk::Status s) {
      if (!s.ok()) log->error("customer index reload after a change failed: {}", s.error().message);
    });
  });
}

void ConsoleApi::add_note(const Caller& caller, std::int64_t id, const HttpRequest& request, Respond respond) {
  HttpResponse refusal;
  auto body = json_body(request, refusal);
  if (!body) return respond(std::move(refusal));
  std::optional<std::string> text, call_at;
  if (!string_field(*body, "text", text, refusal) || !string_field(*body, "call_at", call_at, refusal))
    return respond(std::move(refusal));
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos)
    return respond(json_error(400, "the note is empty: write something in \"text\""));
  sdk::Note note;
  note.rule_id = id;
  note.saved_at = std::chrono::system_clock::now();
  if (call_at && !call_at->empty()) {
    note.call_at = parse_local_time(*call_at);
    if (!note.call_at)
      return respond(json_error(400, "\"call_at\" must be a local time as YYYY-MM-DD HH:MM:SS, not \"" + *call_at + "\""));
  }
  note.operator_extension = caller.agent.extension;
  note.agent = caller.agent.name;
  note.text = std::move(*text);
  auto self = shared_from_this();
  with_customer(id, respond, [self, note = std::move(note), respond](sdk::Rule) mutable {
    self->w_.storage->add_note(std::move(note), [self, respond](sdk::Result<sdk::Note> saved) {
      if (!saved) return respond(storage_failed(saved.error()));
      self->broadcast_note(*saved);
      respond(ok_json({{"note", note_json(*saved)}}, 201));
    });
  });
}

// ----- missed calls, groups --------------------------------------------------------------------------------

void ConsoleApi::missed(const Caller& caller, const HttpRequest& request, Respond respond) {
  const bool all = request.query.count("all") && request.query.at("all") == "1";
  if (all && !caller.administrator()) return respond(json_error(403, "not allowed: everybody's missed calls are for administrators"));
  std::optional<std::string> extension;
  if (!all) extension = caller.agent.extension;
  with_storage<std::vector<sdk::MissedCall>>(
      [extension](sdk::Storage& s, auto cb) { s.list_missed(extension, std::move(cb)); },
      [respond](sdk::Result<std::vector<sdk::MissedCall>> calls) {
        if (!calls) return respond(storage_failed(calls.error()));
        json list = json::array();
        for (const auto& c : *calls)
          list.push_back({{"id", c.id},
                          {"at", api_time(c.at)},
                          {"number", c.number},
                          {"caller", c.caller},
                          {"agent_extension", c.agent_extension},
                          {"customer_id", c.customer_id ? json(*c.customer_id) : json(nullptr)},
                          {"done", c.done}});
        respond(ok_json({{"missed", list}}));
      });
}

void ConsoleApi::missed_done(const Caller& caller, std::int64_t id, Respond respond) {
  std::optional<std::string> extension;
  if (!caller.administrator()) extension = caller.agent.extension;
  auto self = shared_from_this();
  with_storage<std::vector<sdk::MissedCall>>(
      [extension](sdk::Storage& s, auto cb) { s.list_missed(extension, std::move(cb)); },
      [self, id, respond](sdk::Result<std::vector<sdk::MissedCall>> calls) {
        if (!calls) return respond(storage_failed(calls.error()));
        if (std::none_of(calls->begin(), calls->end(), [id](const auto& c) { return c.id == id; }))
          return respond(json_error(404, fmt::format("no missed call {} on your list", id)));
        self->w_.storage->mark_missed_done(id, [respond](sdk::Status s) {
          respond(s.ok() ? ok_json({{"ok", true}}) : storage_failed(s.error()));
        });
      });
}

void ConsoleApi::groups(const Caller& caller, std::optional<bool> join, Respond respond) {
  auto* engine = w_.runtime->engine();
  if (!engine) return respond(ok_json({{"groups", json::array()}}));
  if (join && caller.agent.extension.empty())
    return respond(json_error(400, "you have no extension; ask an administrator to set one"));
  asio::post(w_.runtime->engine_strand(), [engine, join, extension = caller.agent.extension,
                                           actor = "agent " + caller.agent.name, respond] {
    if (join) {
      auto result = engine->set_membership(extension, *join, actor);
      if (!result.ok()) return respond(json_error(409, result.error().message));
    }
    json list = json::array();
    for (const auto& g : engine->group_status()) {
      json members = json::array();
      for (const auto& m : g.members) members.push_back({{"extension", m.extension}, {"joined", m.joined}});
      list.push_back({{"number", g.number},
                      {"name", g.name},
                      {"distribution", g.distribution},
                      {"capacity", g.capacity},
                      {"members", members},
                      {"waiting", g.waiting}});
    }
    json body{{"groups", list}};
    if (join) body["ok"] = true;
    respond(ok_json(body));
  });
}

// ----- agents (administrators) -----------------------------------------------------------------------------

void ConsoleApi::list_agents(Respond respond) {
  json list = json::array();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, agent] : agents_) list.push_back(agent_json(agent));
  }
  respond(ok_json({{"agents", list}}));
}

void ConsoleApi::create_agent(const HttpRequest& request, Respond respond) {
  HttpResponse refusal;
  auto body = json_body(request, refusal);
  if (!body) return respond(std::move(refusal));
  std::optional<std::string> name, password;
  if (!string_field(*body, "name", name, refusal) || !string_field(*body, "password", password, refusal))
    return respond(std::move(refusal));
  if (!name || !valid_agent_name(*name))
    return respond(json_error(400, "\"name\" must be 1 to 64 characters without spaces, quotes or slashes"));
  if (!password || password->empty()) return respond(json_error(400, "\"password\" must not be empty"));
  sdk::Agent agent;
  agent.name = *name;
  if (!apply_agent_fields(*body, agent, refusal)) return respond(std::move(refusal));
  {
    std::lock_guard lock(mutex_);
    if (agents_.count(agent.name)) return respond(json_error(409, "an agent " + agent.name + " exists already"));
  }
  save_agent(std::move(agent), std::move(*password), 201, std::move(respond));
}

void ConsoleApi::change_agent(const Caller& caller, const std::string& name, const HttpRequest& request,
                              Respond respond) {
  HttpResponse refusal;
  auto body = json_body(request, refusal);
  if (!body) return respond(std::move(refusal));
  sdk::Agent agent;
  {
    std::lock_guard lock(mutex_);
    auto it = agents_.find(name);
    if (it == agents_.end()) return respond(json_error(404, "no agent " + name));
    agent = it->second;
  }
  if (!apply_agent_fields(*body, agent, refusal)) return respond(std::move(refusal));
  if (name == caller.agent.name && agent.role != sdk::AgentRole::administrator)
    return respond(json_error(409, "you cannot take the administrator role from yourself; another administrator can"));
  std::optional<std::string> password;
  if (!string_field(*body, "password", password, refusal)) return respond(std::move(refusal));
  if (password && password->empty()) return respond(json_error(400, "\"password\" must not be empty"));
  save_agent(std::move(agent), std::move(password), 200, std::move(respond));
}

// Hashes `password` first when one is given (on the blocking pool, bounded), then stores the agent and keeps
// the API's copy current; answers `status` with the agent.
void ConsoleApi::save_agent(sdk::Agent agent, std::optional<std::string> password, unsigned status, Respond respond) {
  auto self = shared_from_this();
  auto save = [self, status, respond](sdk::Agent agent) {
    self->with_storage<sdk::Agent>([agent](sdk::Storage& s, auto cb) { s.save_agent(agent, std::move(cb)); },
                                   [self, status, respond](sdk::Result<sdk::Agent> saved) {
                                     if (!saved) return respond(storage_failed(saved.error()));
                                     {
                                       std::lock_guard lock(self->mutex_);
                                       self->agents_[saved->name] = *saved;
                                     }
                                     respond(ok_json({{"agent", agent_json(*saved)}}, status));
                                   });
  };
  if (!password) return save(std::move(agent));
  auto job = [agent = std::move(agent), password = std::move(*password), save, respond]() mutable {
    auto hash = hash_password(password);
    sodium_memzero(password.data(), password.size());
    if (!hash) return respond(json_error(500, "cannot hash the password (out of memory?)"));
    agent.password_hash = std::move(*hash);
    save(std::move(agent));
  };
  if (!hash_later(std::move(job))) respond(json_error(503, "too many passwords being hashed; try again in a second"));
}

void ConsoleApi::remove_agent(const Caller& caller, const std::string& name, Respond respond) {
  if (name == caller.agent.name) return respond(json_error(409, "you cannot remove the agent you are logged in as"));
  {
    std::lock_guard lock(mutex_);
    if (!agents_.count(name)) return respond(json_error(404, "no agent " + name));
  }
  auto self = shared_from_this();
  asio::post(*w_.storage_strand, [self, name, respond] {
    self->w_.storage->remove_agent(name, [self, name, respond](sdk::Status s) {
      if (!s.ok()) return respond(storage_failed(s.error()));
      std::vector<std::shared_ptr<EventSocket>> to_close;
      {
        std::lock_guard lock(self->mutex_);
        self->agents_.erase(name);
        std::vector<std::string> tokens;
        for (const auto& [token, session] : self->sessions_)
          if (session.agent == name) tokens.push_back(token);
        for (const auto& t : tokens) self->end_session_locked(t, to_close);
      }
      for (auto& socket : to_close) socket->close();
      respond(ok_json({{"ok", true}}));
    });
  });
}

// ----- rules files, call log -------------------------------------------------------------------------------

void ConsoleApi::import_rules(const HttpRequest& request, Respond respond) {
  if (request.content_type != "text/csv" && request.content_type != "text/plain")
    return respond(json_error(415, "send the rules file as the body with Content-Type: text/csv"));
  std::optional<std::string> project;
  if (auto it = request.query.find("project"); it != request.query.end() && !it->second.empty()) project = it->second;
  const bool replace = request.query.count("replace") && request.query.at("replace") == "1";
  auto encoding = TextEncoding::utf8;
  if (auto it = request.query.find("encoding"); it != request.query.end()) {
    auto e = encoding_from_name(it->second);
    if (!e) return respond(json_error(400, "encoding is utf-8 or cp1250, not \"" + it->second + "\""));
    encoding = *e;
  }
  auto self = shared_from_this();
  // Reading a large file is CPU work: off the connection's strand.
  w_.runtime->run_blocking([self, body = request.body, encoding, project, replace, respond]() mutable {
    std::vector<FileProblem> problems;
    RulesFile rules = read_rules(body, encoding, self->w_.plan, project, problems);
    body.clear();
    if (!problems.empty()) return respond(problems_response("the rules file", problems));
    self->with_storage<std::vector<sdk::RuleKeys>>(
        [](sdk::Storage& s, auto cb) { s.load_rule_keys(std::move(cb)); },
        [self, rules = std::move(rules), project, replace, respond](sdk::Result<std::vector<sdk::RuleKeys>> stored) mutable {
          if (!stored) return respond(storage_failed(stored.error()));
          sdk::RuleWriteMode mode = !replace ? sdk::RuleWriteMode::upsert
                                    : project ? sdk::RuleWriteMode::replace_project
                                              : sdk::RuleWriteMode::replace_all;
          std::vector<FileProblem> problems;
          check_against_stored(rules, nullptr, *stored, mode, project.value_or(""), problems);
          if (!problems.empty()) return respond(problems_response("the rules file", problems));
          sdk::RuleWrite write;
          write.rules = std::move(rules.rules);
          write.mode = mode;
          write.project = project.value_or("");
          self->w_.storage->write_rules(std::move(write), [self, respond](sdk::Result<sdk::RuleWriteSummary> summary) {
            if (!summary) return respond(json_error(503, "the import was rolled back, nothing was changed: " +
                                                             summary.error().message));
            self->reload_customers();
            respond(ok_json({{"added", summary->added},
                             {"updated", summary->updated},
                             {"unchanged", summary->unchanged},
                             {"removed", summary->removed}}));
          });
        });
  });
}

void ConsoleApi::export_rules(const HttpRequest& request, bool history, Respond respond) {
  std::optional<std::string> project;
  if (auto it = request.query.find("project"); it != request.query.end()) project = it->second;
  auto csv = [history](std::string text) {
    HttpResponse r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = std::move(text);
    r.headers.emplace_back("Content-Disposition",
                           std::string("attachment; filename=\"") + (history ? "history" : "rules") + ".csv\"");
    return r;
  };
  if (history)
    return with_storage<std::vector<sdk::Note>>(
        [project](sdk::Storage& s, auto cb) { s.list_notes(project, std::move(cb)); },
        [respond, csv](sdk::Result<std::vector<sdk::Note>> notes) {
          respond(notes ? csv(write_history_csv(*notes)) : storage_failed(notes.error()));
        });
  with_storage<std::vector<sdk::Rule>>([project](sdk::Storage& s, auto cb) { s.list_rules(project, std::move(cb)); },
                                       [respond, csv](sdk::Result<std::vector<sdk::Rule>> rules) {
                                         respond(rules ? csv(write_rules_csv(*rules)) : storage_failed(rules.error()));
                                       });
}

// Every stored record as the seed's log lines, then exactly those records deleted: a record stored while
// this runs has a higher sequence and stays for the next export.
void ConsoleApi::export_and_clear_calls(Respond respond) {
  struct Export {
    std::string text;
    std::uint64_t last = 0;
    std::size_t count = 0;
  };
  auto state = std::make_shared<Export>();
  auto self = shared_from_this();
  auto read_page = std::make_shared<std::function<void()>>();
  *read_page = [self, state, respond, read_page] {
    self->w_.storage->read_calls(state->last, 10'000, [self, state, respond, read_page](auto page) {
      if (!page) {
        *read_page = nullptr;
        return respond(storage_failed(page.error()));
      }
      if (!page->empty()) {
        for (const auto& r : *page) state->text += sdk::seed_log_line(r);
        state->count += page->size();
        state->last = page->back().sequence;
        return asio::post(*self->w_.storage_strand, *read_page);
      }
      *read_page = nullptr;
      self->w_.storage->delete_calls_through(state->last, [state, respond](sdk::Result<std::uint64_t> deleted) {
        if (!deleted) return respond(storage_failed(deleted.error()));
        HttpResponse r;
        r.content_type = "text/plain; charset=utf-8";
        r.body = std::move(state->text);
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"calllog.txt\"");
        r.headers.emplace_back("X-Switchboard-Records", std::to_string(state->count));
        respond(std::move(r));
      });
    });
  };
  asio::post(*w_.storage_strand, *read_page);
}

// ----- events ----------------------------------------------------------------------------------------------

std::optional<HttpResponse> ConsoleApi::check_upgrade(const HttpRequest& request) {
  // Browsers send cookies with cross-site WebSocket upgrades: only the console's own origin may open one.
  const std::string scheme = request.secure ? "https://" : "http://";
  if (request.origin.empty() || request.origin != scheme + request.host)
    return json_error(403, "the events socket is opened only from the console's own origin");
  HttpResponse refusal;
  if (!authenticate(request, refusal)) return refusal;
  return std::nullopt;
}

void ConsoleApi::opened(std::shared_ptr<EventSocket> socket, const HttpRequest& request) {
  const std::string token = cookie_value(request.cookie, cookie_name);
  json hello;
  {
    std::lock_guard lock(mutex_);
    auto session = sessions_.find(token);
    auto agent = session == sessions_.end() ? agents_.end() : agents_.find(session->second.agent);
    if (agent == agents_.end()) {
      socket->close();
      return;
    }
    sockets_[socket.get()] = SocketEntry{socket, token, agent->first, 0};
    hello = {{"type", "hello"}, {"agent", agent_json(agent->second)}};
  }
  socket->send(hello.dump());
}

void ConsoleApi::received(EventSocket* socket, std::string text) {
  auto message = json::parse(text, nullptr, false);
  if (message.is_discarded() || !message.is_object() || message.value("type", "") != "watch") return;
  std::int64_t id = 0;
  if (auto it = message.find("customer_id"); it != message.end() && it->is_number_integer()) id = it->get<std::int64_t>();
  std::lock_guard lock(mutex_);
  if (auto it = sockets_.find(socket); it != sockets_.end()) it->second.watching = id;
}

void ConsoleApi::closed(EventSocket* socket) {
  std::lock_guard lock(mutex_);
  sockets_.erase(socket);
}

void ConsoleApi::send_to(const std::vector<std::shared_ptr<EventSocket>>& sockets, const std::string& text) {
  for (const auto& s : sockets) s->send(text);
}

void ConsoleApi::ringing(const RingingCall& call) {
  std::vector<std::shared_ptr<EventSocket>> targets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [raw, entry] : sockets_) {
      auto agent = agents_.find(entry.agent);
      if (agent == agents_.end() || agent->second.extension != call.device) continue;
      if (!agent->second.call_module && agent->second.role != sdk::AgentRole::administrator) continue;
      if (auto s = entry.socket.lock()) {
        targets.push_back(std::move(s));
        entry.watching = call.customer_id.value_or(0);
      }
    }
  }
  if (targets.empty()) return;
  json pop{{"type", "call"},
           {"call",
            {{"id", call.call_id},
             {"caller", call.caller},
             {"dialled", call.dialled},
             {"device", call.device},
             {"at", api_time(call.arrived)}}},
           {"customer", nullptr},
           {"notes", json::array()}};
  // A customer of another storage than the console's is not shown (its ids mean something else here).
  if (!call.customer_id || (!call.storage.empty() && call.storage != w_.storage_name))
    return send_to(targets, pop.dump());
  auto self = shared_from_this();
  const auto id = *call.customer_id;
  get_customer(id, [self, targets, pop](HttpResponse r) mutable {
    if (r.status == 200) {
      auto found = json::parse(r.body);
      pop["customer"] = found["customer"];
      pop["notes"] = found["notes"];
    }
    self->send_to(targets, pop.dump(-1, ' ', false, json::error_handler_t::replace));
  });
}

void ConsoleApi::broadcast_note(const sdk::Note& note) {
  std::vector<std::shared_ptr<EventSocket>> targets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [raw, entry] : sockets_)
      if (entry.watching == note.rule_id)
        if (auto s = entry.socket.lock()) targets.push_back(std::move(s));
  }
  send_to(targets, json{{"type", "note"}, {"note", note_json(note)}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace switchboard::core
