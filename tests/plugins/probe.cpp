// Test plugin "test.probe": alert actions that exercise the host boundary from inside a loaded library.
//  - asio_probe: on start, runs a timer, a loopback socket pair, a strand chain, a host timer and an event-bus
//    round trip on the host's io_context, checking each handler runs on the instance's strand.
//  - log_probe: on start, writes one line at every level, so a test can see which reach the host's sinks.
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <string>

#include "switchboard/sdk/sdk.hpp"

namespace probe {
namespace sdk = switchboard::sdk;
namespace asio = sdk::asio;
using tcp = asio::ip::tcp;

class AsioProbe final : public sdk::AlertAction, public std::enable_shared_from_this<AsioProbe> {
 public:
  static sdk::ConfigSchema schema() {
    sdk::ConfigSchema s;
    s.add("chain_length", sdk::ValueType::integer).range(1, 1'000'000).default_value(1000)
        .doc("How many handlers the strand chain posts.");
    return s;
  }
  AsioProbe(sdk::Context& ctx, const sdk::Settings& settings)
      : ctx_(ctx), chain_length_(settings.integer("chain_length")), acceptor_(ctx.strand()), client_(ctx.strand()),
        server_(ctx.strand()), timer_(ctx.strand()) {}

  void start(sdk::Completion done) override {
    done_ = std::move(done);
    check("start");
    timer_.expires_after(std::chrono::milliseconds(5));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return fail("timer: " + ec.message());
      check("timer");
      sockets();
    });
  }
  void stop(sdk::Completion done) override {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    client_.close(ignored);
    server_.close(ignored);
    subscription_.reset();
    host_timer_.reset();
    done({});
  }
  void fire(const sdk::Alert&, sdk::Completion done) override { done({}); }

 private:
  void check(const char* where) {
    if (!ctx_.strand().running_in_this_thread()) not_on_strand_ += std::string(where) + " ";
  }
  void fail(std::string why) {
    if (done_) std::exchange(done_, nullptr)(sdk::make_error(sdk::ErrorCode::failed, std::move(why)));
  }
  void sockets() {
    tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(loopback.protocol());
    acceptor_.bind(loopback);
    acceptor_.listen();
    acceptor_.async_accept(server_, [this](const boost::system::error_code& ec) {
      if (ec) return fail("accept: " + ec.message());
      check("accept");
      asio::async_read(server_, asio::buffer(server_buffer_, 4), [this](const boost::system::error_code& ec, std::size_t) {
        if (ec) return fail("server read: " + ec.message());
        check("server read");
        if (std::string(server_buffer_, 4) != "ping") return fail("server got '" + std::string(server_buffer_, 4) + "'");
        asio::async_write(server_, asio::buffer("pong", 4), [this](const boost::system::error_code& ec, std::size_t) {
          if (ec) return fail("server write: " + ec.message());
        });
      });
    });
    client_.async_connect(acceptor_.local_endpoint(), [this](const boost::system::error_code& ec) {
      if (ec) return fail("connect: " + ec.message());
      check("connect");
      asio::async_write(client_, asio::buffer("ping", 4), [this](const boost::system::error_code& ec, std::size_t) {
        if (ec) return fail("client write: " + ec.message());
        asio::async_read(client_, asio::buffer(client_buffer_, 4), [this](const boost::system::error_code& ec, std::size_t) {
          if (ec) return fail("client read: " + ec.message());
          check("client read");
          if (std::string(client_buffer_, 4) != "pong") return fail("client got '" + std::string(client_buffer_, 4) + "'");
          chain(0);
        });
      });
    });
  }
  void chain(std::int64_t step) {
    check("chain");
    if (step == chain_length_) return host_services();
    asio::post(ctx_.strand(), [this, step] { chain(step + 1); });
  }
  void host_services() {
    host_timer_ = ctx_.call_after(std::chrono::milliseconds(1), [this] {
      check("call_after");
      subscription_ = ctx_.events().subscribe([this](const sdk::Event& e) {
        check("event");
        const auto* link = std::get_if<sdk::LinkEvent>(&e);
        if (!link || link->driver != ctx_.instance_name() || link->detail != "probe") return;
        subscription_.reset();  // once is enough; other probes publish too
        ctx_.offload([] { return 42; }, [this](int answer) {
          check("offload");
          if (answer != 42) return fail("offload returned the wrong value");
          finish();
        });
      });
      ctx_.events().publish(sdk::LinkEvent{ctx_.instance_name(), true, "probe", ctx_.clock().now()});
    });
  }
  void finish() {
    if (!not_on_strand_.empty()) return fail("handlers ran off the strand: " + not_on_strand_);
    ctx_.logger().info("asio probe passed chain={}", chain_length_);
    if (done_) std::exchange(done_, nullptr)({});
  }

  sdk::Context& ctx_;
  std::int64_t chain_length_;
  tcp::acceptor acceptor_;
  tcp::socket client_, server_;
  asio::steady_timer timer_;
  sdk::Timer host_timer_;
  std::unique_ptr<sdk::Subscription> subscription_;
  char server_buffer_[4]{}, client_buffer_[4]{};
  std::string not_on_strand_;
  sdk::Completion done_;
};

class LogProbe final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema() {
    sdk::ConfigSchema s;
    s.add("partner", sdk::TypeSpec::reference_to(sdk::Category::alert)).doc("Another alert instance (reference checks).");
    s.add("token", sdk::ValueType::string).secret().doc("A secret (redaction checks).");
    return s;
  }
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
    if (settings.has("token") && settings.string("token").size() < 8)
      diag.error(settings, "token", "token must have at least 8 characters");
  }
  LogProbe(sdk::Context& ctx, const sdk::Settings&) : ctx_(ctx) {}
  void start(sdk::Completion done) override {
    auto& log = ctx_.logger();
    log.trace("probe line level=trace");
    log.debug("probe line level=debug");
    log.info("probe line level=info");
    log.warn("probe line level=warn");
    log.error("probe line level=error");
    done({});
  }
  void stop(sdk::Completion done) override { done({}); }
  void fire(const sdk::Alert&, sdk::Completion done) override { done({}); }

 private:
  sdk::Context& ctx_;
};

// timer_probe: the host's call_after under pressure: due order (deadline, then scheduling order), a cancelled
// timer never runs, a callback that cancels another timer due at the same moment stops it, a timer scheduled
// from a thread outside the host runs on the strand. Start fails with what went wrong.
class TimerProbe final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema() { return {}; }
  TimerProbe(sdk::Context& ctx, const sdk::Settings&) : ctx_(ctx) {}

  void start(sdk::Completion done) override {
    done_ = std::move(done);
    sdk::asio::post(ctx_.strand(), [this] { schedule(); });
  }
  void stop(sdk::Completion done) override { done({}); }
  void fire(const sdk::Alert&, sdk::Completion done) override { done({}); }

 private:
  void note(const std::string& what) {
    if (!ctx_.strand().running_in_this_thread()) ran_ += "(off strand)";
    ran_ += what + " ";
  }
  void schedule() {
    using std::chrono::milliseconds;
    timers_.push_back(ctx_.call_after(milliseconds(35), [this] { note("c35"); }));
    timers_.push_back(ctx_.call_after(milliseconds(15), [this] { note("a15"); }));
    timers_.push_back(ctx_.call_after(milliseconds(25), [this] {
      note("b25");
      timers_[4].reset();  // due at the same moment, scheduled after this one: must not run
    }));
    timers_.push_back(ctx_.call_after(milliseconds(30), [this] { note("never"); }));
    timers_.push_back(ctx_.call_after(milliseconds(25), [this] { note("cancelled-by-b25"); }));
    timers_[3]->cancel();
    std::thread([this] {
      auto timer = ctx_.call_after(std::chrono::milliseconds(1), [this] { note("thread1"); });
      std::lock_guard lock(mutex_);
      timers_from_thread_.push_back(std::move(timer));
    }).join();
    timers_.push_back(ctx_.call_after(milliseconds(70), [this] {
      const std::string expected = "thread1 a15 b25 c35 ";
      if (ran_ == expected) return std::exchange(done_, nullptr)({});
      std::exchange(done_, nullptr)(sdk::make_error(sdk::ErrorCode::failed, "timers ran \"" + ran_ + "\", expected \"" + expected + "\""));
    }));
  }

  sdk::Context& ctx_;
  sdk::Completion done_;
  std::vector<sdk::Timer> timers_;
  std::mutex mutex_;
  std::vector<sdk::Timer> timers_from_thread_;
  std::string ran_;
};

void register_factories(sdk::Registrar& r) {
  r.add<TimerProbe>("timer_probe", "Checks the order and cancellation of the host's timers.");
  r.add<AsioProbe>("asio_probe", "Checks timers, sockets, strands, host timers, the bus and the blocking pool.");
  r.add<LogProbe>("log_probe", "Logs one line at every level.");
}

}  // namespace probe

SWITCHBOARD_PLUGIN("test.probe", "1.0.0", "Switchboard tests", "Boundary probes.", probe::register_factories)
