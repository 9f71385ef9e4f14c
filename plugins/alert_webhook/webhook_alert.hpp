// Alert action `webhook`: HTTP POST of each alert as JSON, with a per-attempt timeout and bounded retries.
#pragma once

#include "switchboard/sdk/asio.hpp"  // first: Asio needs <utility> before it (see asio.hpp)

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "switchboard/sdk/alert.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/registrar.hpp"

namespace switchboard::plugins {

// An http:// URL split for the request: host and port to connect to, the target to ask for.
struct WebhookUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  // "host" or "host:port", as the Host header wants it.
  std::string host_header() const;
  std::string to_string() const;
};

// The URL, or a message saying what is wrong with it (https is refused: no TLS yet).
sdk::Result<WebhookUrl> parse_webhook_url(const std::string& url);

// The JSON body for `alert`: rule, severity, summary, key, resolved, time, instance, labels.
std::string webhook_body(const sdk::Alert& alert, const std::string& instance);

class WebhookDelivery;

class WebhookAlert final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema();
  static void validate(const sdk::Settings& settings, sdk::Diagnostics& diag);
  WebhookAlert(sdk::Context& context, const sdk::Settings& settings);
  ~WebhookAlert() override;

  void start(sdk::Completion done) override;
  void stop(sdk::Completion done) override;
  void fire(const sdk::Alert& alert, sdk::Completion done) override;

  // What every delivery of this instance shares.
  struct Target {
    WebhookUrl url;
    std::chrono::milliseconds timeout{0};
    int retries = 0;
    std::vector<std::pair<std::string, std::string>> headers;
  };

 private:
  sdk::Context& context_;
  std::shared_ptr<const Target> target_;
  bool running_ = false;
  std::vector<std::shared_ptr<WebhookDelivery>> deliveries_;
};

void register_webhook_alert(sdk::Registrar& registrar);

}  // namespace switchboard::plugins
