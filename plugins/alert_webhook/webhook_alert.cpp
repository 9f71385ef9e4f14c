#include "webhook_alert.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "switchboard/sdk/call_log_format.hpp"

namespace switchboard::plugins {

namespace http = boost::beast::http;
using tcp = sdk::asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// A receiver's answer is only looked at for its status; a huge body is refused rather than buffered.
constexpr std::uint64_t response_body_limit = 64 * 1024;

bool valid_header_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool header_set_by_action(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower == "host" || lower == "content-length" || lower == "transfer-encoding" || lower == "connection";
}

}  // namespace

std::string WebhookUrl::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return port == 80 ? h : h + ":" + std::to_string(port);
}

std::string WebhookUrl::to_string() const { return "http://" + host_header() + target; }

sdk::Result<WebhookUrl> parse_webhook_url(const std::string& url) {
  auto fail = [](std::string message) { return sdk::make_error(sdk::ErrorCode::invalid_argument, std::move(message)); };
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0)
    return fail("https is not supported: TLS is not supported by this action yet; use an http:// URL (e.g. a local relay)");
  if (rest.rfind("http://", 0) != 0) return fail("'" + url + "' is not an http:// URL (http://host[:port]/path)");
  rest.remove_prefix(7);
  auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  WebhookUrl out;
  if (slash != std::string_view::npos) {
    if (rest[slash] == '#') return fail("'" + url + "' has a fragment; a webhook URL has none");
    out.target = (rest[slash] == '/' ? "" : "/") + std::string(rest.substr(slash));
    if (auto hash = out.target.find('#'); hash != std::string::npos) return fail("'" + url + "' has a fragment; a webhook URL has none");
  }
  if (authority.find('@') != std::string_view::npos)
    return fail("'" + url + "' holds credentials; put them in `headers` (e.g. Authorization), which is kept secret");
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("'" + url + "' has an unclosed '[' in its host");
    out.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return fail("'" + url + "': unexpected text after the IPv6 address");
    has_port = !after.empty();
    if (has_port) port_text = after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return fail("'" + url + "' has no host");
  if (has_port) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return fail("'" + url + "' has an invalid port (1-65535)");
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

std::string webhook_body(const sdk::Alert& alert, const std::string& instance) {
  nlohmann::json labels = nlohmann::json::object();
  for (const auto& [name, value] : alert.labels) labels[name] = value;
  nlohmann::json body = {
      {"rule", alert.rule},
      {"severity", sdk::to_string(alert.severity)},
      {"summary", alert.summary},
      {"key", alert.dedup_key},
      {"resolved", alert.resolved},
      {"time", sdk::iso8601_local(alert.at)},
      {"instance", instance},
      {"labels", std::move(labels)},
  };
  // replace: a label with broken UTF-8 still goes out rather than throwing away the alert.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One alert on its way: attempts, each with its own timeout, and the backoff between them. Every handler
// runs on the instance's strand (socket and resolver are built on it). Owned by the handlers in flight and
// by the instance until it has answered, so late completions after stop() find it alive and do nothing.
class WebhookDelivery : public std::enable_shared_from_this<WebhookDelivery> {
 public:
  WebhookDelivery(sdk::Context& context, std::shared_ptr<const WebhookAlert::Target> target, std::string rule,
                  std::string body, sdk::Completion done)
      : context_(context), target_(std::move(target)), rule_(std::move(rule)), done_(std::move(done)),
        resolver_(context.strand()), socket_(context.strand()) {
    request_.method(http::verb::post);
    request_.target(target_->url.target);
    request_.version(11);
    request_.set(http::field::host, target_->url.host_header());
    request_.set(http::field::user_agent, "switchboard-alert-webhook");
    request_.set(http::field::content_type, "application/json");
    request_.set(http::field::connection, "close");  // one request per connection: nothing to keep alive
    for (const auto& [name, value] : target_->headers) request_.set(name, value);
    request_.body() = std::move(body);
    request_.prepare_payload();
  }

  bool finished() const noexcept { return finished_; }

  void begin() { attempt(); }

  // stop(): ends everything in flight and answers once.
  void cancel() {
    if (finished_) return;
    abort_io();
    backoff_.reset();
    answer(sdk::make_error(sdk::ErrorCode::cancelled, "alert action stopped; webhook not delivered"));
  }

 private:
  int attempts_allowed() const { return target_->retries + 1; }

  void attempt() {
    ++attempt_;
    timed_out_ = false;
    socket_ = tcp::socket(context_.strand());
    buffer_.clear();
    parser_.emplace();
    parser_->body_limit(response_body_limit);
    auto self = shared_from_this();
    attempt_timer_ = context_.call_after(target_->timeout, [self] {
      self->timed_out_ = true;
      self->abort_io();
    });
    // An address needs no resolver (whose async form runs a thread of its own inside Asio).
    error_code not_an_address;
    auto address = sdk::asio::ip::make_address(target_->url.host, not_an_address);
    if (!not_an_address) {
      socket_.async_connect(tcp::endpoint(address, target_->url.port), [self](error_code ec) { self->on_connect(ec); });
      return;
    }
    resolver_.async_resolve(target_->url.host, std::to_string(target_->url.port),
                            [self](error_code ec, const tcp::resolver::results_type& endpoints) {
                              if (self->finished_) return;
                              if (ec || self->timed_out_) return self->attempt_failed(ec, "resolve");
                              sdk::asio::async_connect(self->socket_, endpoints,
                                                       [self](error_code ec, const tcp::endpoint&) { self->on_connect(ec); });
                            });
  }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec || timed_out_) return attempt_failed(ec, "connect");
    auto self = shared_from_this();
    http::async_write(socket_, request_, [self](error_code ec, std::size_t) {
      if (self->finished_) return;
      if (ec || self->timed_out_) return self->attempt_failed(ec, "send");
      http::async_read(self->socket_, self->buffer_, *self->parser_, [self](error_code ec, std::size_t) {
        self->on_response(ec);
      });
    });
  }

  void on_response(error_code ec) {
    if (finished_) return;
    if (ec || timed_out_) return attempt_failed(ec, "receive");
    attempt_timer_.reset();
    abort_io();
    auto status = parser_->get().result_int();
    if (status >= 200 && status < 300) {
      context_.logger().info("webhook delivered rule={} url={} status={} attempts={}", rule_, target_->url.to_string(),
                             status, attempt_);
      answer({});
      return;
    }
    retry_or_fail(sdk::ErrorCode::failed,
                  "server answered " + std::to_string(status) + " " + std::string(parser_->get().reason()));
  }

  void attempt_failed(error_code ec, const char* step) {
    attempt_timer_.reset();
    abort_io();
    if (timed_out_)
      return retry_or_fail(sdk::ErrorCode::timeout,
                           "no answer within " + std::to_string(target_->timeout.count()) + "ms (" + step + ")");
    retry_or_fail(sdk::ErrorCode::unavailable, std::string(step) + ": " + ec.message());
  }

  void retry_or_fail(sdk::ErrorCode code, const std::string& reason) {
    if (attempt_ < attempts_allowed()) {
      // 1s, 2s, 4s, ...: a receiver that is restarting gets time to come back.
      auto backoff = std::chrono::seconds(1) * (1 << (attempt_ - 1));
      context_.logger().warn("webhook attempt failed rule={} url={} attempt={} error=\"{}\" retry_in={}s", rule_,
                             target_->url.to_string(), attempt_, reason, backoff.count());
      auto self = shared_from_this();
      backoff_ = context_.call_after(backoff, [self] {
        if (!self->finished_) self->attempt();
      });
      return;
    }
    context_.logger().warn("webhook failed rule={} url={} attempts={} error=\"{}\"", rule_, target_->url.to_string(),
                           attempt_, reason);
    answer(sdk::make_error(code, "POST " + target_->url.to_string() + " failed after " + std::to_string(attempt_) +
                                     (attempt_ == 1 ? " attempt: " : " attempts: ") + reason));
  }

  void abort_io() {
    resolver_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void answer(sdk::Status status) {
    finished_ = true;
    attempt_timer_.reset();
    backoff_.reset();
    auto done = std::move(done_);
    done(std::move(status));
  }

  sdk::Context& context_;
  std::shared_ptr<const WebhookAlert::Target> target_;
  std::string rule_;
  sdk::Completion done_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  http::request<http::string_body> request_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  sdk::Timer attempt_timer_;
  sdk::Timer backoff_;
  int attempt_ = 0;
  bool timed_out_ = false;
  bool finished_ = false;
};

sdk::ConfigSchema WebhookAlert::schema() {
  sdk::ConfigSchema s;
  s.add("url", sdk::ValueType::string)
      .required()
      .doc("Where to POST the alert: http://host[:port]/path. https is not supported yet (no TLS); use a local "
           "relay.");
  s.add("timeout", sdk::ValueType::duration).default_value("5s").min(1)
      .doc("How long one attempt (resolve, connect, send, answer) may take.");
  s.add("retries", sdk::ValueType::integer).default_value(3).range(0, 10)
      .doc("Attempts after the first when one fails (no answer, connection error, non-2xx status); the waits "
           "between them are 1s, 2s, 4s, ...");
  s.add("headers", sdk::TypeSpec::map_of(sdk::TypeSpec::of(sdk::ValueType::string)))
      .secret()
      .doc("Extra request headers, e.g. Authorization: Bearer ...; secret, never printed or logged.");
  return s;
}

void WebhookAlert::validate(const sdk::Settings& settings, sdk::Diagnostics& diag) {
  if (auto url = parse_webhook_url(settings.string("url")); !url) diag.error(settings, "url", url.error().message);
  for (const auto& [name, value] : settings.entries("headers")) {
    if (!valid_header_name(name))
      diag.error(settings, "headers", "'" + name + "' is not a valid header name");
    else if (header_set_by_action(name))
      diag.error(settings, "headers", "'" + name + "' is set by the action itself");
    else if (value.text.find_first_of("\r\n") != std::string::npos)
      diag.error(settings, "headers", "the value of '" + name + "' contains a line break");
  }
}

WebhookAlert::WebhookAlert(sdk::Context& context, const sdk::Settings& settings) : context_(context) {
  auto target = std::make_shared<Target>();
  if (auto url = parse_webhook_url(settings.string("url"))) target->url = *url;
  target->timeout = settings.duration("timeout");
  target->retries = static_cast<int>(settings.integer("retries"));
  for (const auto& [name, value] : settings.entries("headers")) target->headers.emplace_back(name, value.text);
  target_ = std::move(target);
}

WebhookAlert::~WebhookAlert() {
  // Destroyed without stop(): still answer every caller once, and silence completions that arrive later.
  for (auto& d : deliveries_) d->cancel();
}

void WebhookAlert::start(sdk::Completion done) {
  running_ = true;
  done({});
}

void WebhookAlert::stop(sdk::Completion done) {
  running_ = false;
  auto deliveries = std::move(deliveries_);
  deliveries_.clear();
  for (auto& d : deliveries) d->cancel();
  done({});
}

void WebhookAlert::fire(const sdk::Alert& alert, sdk::Completion done) {
  if (!running_) {
    done(sdk::make_error(sdk::ErrorCode::unavailable, "alert action is not started"));
    return;
  }
  std::erase_if(deliveries_, [](const auto& d) { return d->finished(); });
  auto delivery = std::make_shared<WebhookDelivery>(context_, target_, alert.rule,
                                                    webhook_body(alert, context_.instance_name()), std::move(done));
  deliveries_.push_back(delivery);
  delivery->begin();
}

void register_webhook_alert(sdk::Registrar& registrar) {
  registrar.add<WebhookAlert>("webhook", "POSTs each alert as JSON to an HTTP URL, with timeout and retries.");
}

}  // namespace switchboard::plugins
