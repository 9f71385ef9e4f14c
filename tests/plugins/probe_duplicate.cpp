// Test plugin: registers a type that test.probe already provides; the host must refuse it.
#include "switchboard/sdk/sdk.hpp"

namespace {
namespace sdk = switchboard::sdk;

class Duplicate final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema() { return {}; }
  Duplicate(sdk::Context&, const sdk::Settings&) {}
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  void fire(const sdk::Alert&, sdk::Completion done) override { done({}); }
};

void register_factories(sdk::Registrar& r) { r.add<Duplicate>("log_probe", "Same type as test.probe's."); }
}  // namespace

SWITCHBOARD_PLUGIN("test.probe-duplicate", "1.0.0", "Switchboard tests", "Refused.", register_factories)
