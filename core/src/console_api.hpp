// The web console's JSON API (docs/api.md): agents' sessions, CSRF, login rate limits, customers and notes,
// missed calls, SA-group membership, the administrators' agents/rules/call-log endpoints, and the events
// WebSocket that pops a ringing call's customer onto its agent's screen.
//
// Requests arrive on the HTTP connections' strands; the shared state (sessions, sockets, the agents' cache,
// login failures) is guarded by one mutex, storage work runs on the storage's strand and password hashing
// on the blocking pool, a bounded number at once.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "http_server.hpp"
#include "switchboard/core/call_engine.hpp"
#include "switchboard/core/number_plan.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/storage.hpp"

namespace switchboard::core {

class Runtime;

struct ConsoleApiWiring {
  Runtime* runtime = nullptr;
  sdk::Storage* storage = nullptr;
  sdk::Strand* storage_strand = nullptr;
  std::string storage_name;
  std::vector<std::string> drivers;
  NumberPlan plan{NumberPlan::Options{}};
  std::shared_ptr<spdlog::logger> log;
};

class ConsoleApi final : public HttpHandler, public std::enable_shared_from_this<ConsoleApi> {
 public:
  // The host's `api` section.
  static sdk::ConfigSchema schema();
  // api.listen: host:port where port 0 asks for any free port (the SDK's endpoints need a real port).
  static std::optional<sdk::Endpoint> listen_endpoint(const std::string& text);

  ConsoleApi(const sdk::Settings& api, ConsoleApiWiring wiring);
  ~ConsoleApi() override;
  // Loads the agents, follows link events and ringing calls. `done` from any thread.
  void start(sdk::Completion done);
  // Ends the sockets and timers (the agents' sessions end with the process: their Stop is recorded).
  void stop();

  void handle(HttpRequest request, Respond respond) override;
  std::uint64_t body_limit(const std::string& method, const std::string& path) const override;
  std::optional<HttpResponse> check_upgrade(const HttpRequest& request) override;
  void opened(std::shared_ptr<EventSocket> socket, const HttpRequest& request) override;
  void received(EventSocket* socket, std::string text) override;
  void closed(EventSocket* socket) override;

  struct Session {
    std::string agent;
    std::string csrf_token;
    std::chrono::steady_clock::time_point last_used;
  };
  struct Caller;  // the agent behind one request

 private:
  struct SocketEntry {
    std::weak_ptr<EventSocket> socket;
    std::string token;
    std::string agent;
    std::int64_t watching = 0;  // the customer shown; 0 none
  };

  // Storage work: `op(storage, callback)` on the storage's strand; `then` on that strand too.
  template <class T, class Op>
  void with_storage(Op op, std::function<void(sdk::Result<T>)> then);
  // The customer `id` (on the storage's strand), or the 404 / storage error answered for it.
  void with_customer(std::int64_t id, const Respond& respond, std::function<void(sdk::Rule)> then);
  // Runs `job` on the blocking pool, at most api.max_hashing at once (password hashing).
  bool hash_later(std::function<void()> job);
  void hash_finished();

  // Sessions (mutex held by the callers of the *_locked ones).
  std::optional<Caller> authenticate(const HttpRequest& request, HttpResponse& refusal);
  std::string session_cookie(const std::string& token, bool secure, bool expire) const;
  void end_session_locked(const std::string& token, std::vector<std::shared_ptr<EventSocket>>& to_close);
  // Stores the agent's Stop unless another of its sessions is still open; `saved` runs when done either way.
  void record_stop(const std::string& agent, std::function<void()> saved = {});
  void sweep();
  std::optional<std::chrono::seconds> login_limited_locked(const std::string& name, const std::string& address,
                                                           std::chrono::steady_clock::time_point now);

  // Endpoints
  void login(HttpRequest request, Respond respond);
  void verify_login(HttpRequest request, std::string name, std::string password, std::string hash, Respond respond);
  void logout(const Caller& caller, Respond respond);
  void healthz(Respond respond);
  void search_customers(const HttpRequest& request, Respond respond);
  void get_customer(std::int64_t id, Respond respond);
  void write_customer(const Caller& caller, const HttpRequest& request, std::int64_t id, Respond respond);
  void delete_customer(std::int64_t id, Respond respond);
  void add_note(const Caller& caller, std::int64_t id, const HttpRequest& request, Respond respond);
  void missed(const Caller& caller, const HttpRequest& request, Respond respond);
  void missed_done(const Caller& caller, std::int64_t id, Respond respond);
  void groups(const Caller& caller, std::optional<bool> join, Respond respond);
  void list_agents(Respond respond);
  void create_agent(const HttpRequest& request, Respond respond);
  void change_agent(const Caller& caller, const std::string& name, const HttpRequest& request, Respond respond);
  void remove_agent(const Caller& caller, const std::string& name, Respond respond);
  void save_agent(sdk::Agent agent, std::optional<std::string> password, unsigned status, Respond respond);
  void import_rules(const HttpRequest& request, Respond respond);
  void export_rules(const HttpRequest& request, bool history, Respond respond);
  void export_and_clear_calls(Respond respond);
  void reload_customers();

  // Events
  void ringing(const RingingCall& call);
  void send_to(const std::vector<std::shared_ptr<EventSocket>>& sockets, const std::string& text);
  void broadcast_note(const sdk::Note& note);

  ConsoleApiWiring w_;
  std::chrono::milliseconds session_timeout_;
  std::uint64_t max_body_;
  std::uint64_t max_import_body_;
  std::size_t per_name_;
  std::size_t per_address_;
  std::chrono::milliseconds window_;
  std::size_t max_hashing_;

  mutable std::mutex mutex_;
  std::map<std::string, sdk::Agent> agents_;            // by name: the storage's, kept current by this API
  std::map<std::string, Session> sessions_;             // by token
  std::map<EventSocket*, SocketEntry> sockets_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> failures_by_name_;
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> failures_by_address_;
  std::map<std::string, bool> links_;                   // by driver
  std::size_t hashing_ = 0;
  std::deque<std::function<void()>> hash_queue_;
  std::string dummy_hash_;                              // verified for unknown names: same time as a known one

  sdk::Strand strand_;  // link events and the sweep timer
  std::unique_ptr<sdk::Subscription> links_subscription_;
  std::unique_ptr<sdk::asio::steady_timer> sweep_timer_;
  bool stopped_ = false;
};

}  // namespace switchboard::core
