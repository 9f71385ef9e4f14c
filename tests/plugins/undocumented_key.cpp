// Test plugin: declares a key without a doc; the host must refuse it (the reference is generated from docs).
#include "switchboard/sdk/sdk.hpp"

namespace {
namespace sdk = switchboard::sdk;

class Undocumented final : public sdk::AlertAction {
 public:
  static sdk::ConfigSchema schema() {
    sdk::ConfigSchema s;
    s.add("secret_sauce", sdk::ValueType::string);
    return s;
  }
  Undocumented(sdk::Context&, const sdk::Settings&) {}
  void start(sdk::Completion done) override { done({}); }
  void stop(sdk::Completion done) override { done({}); }
  void fire(const sdk::Alert&, sdk::Completion done) override { done({}); }
};

void register_factories(sdk::Registrar& r) { r.add<Undocumented>("undocumented", "Has an undocumented key."); }
}  // namespace

SWITCHBOARD_PLUGIN("test.undocumented-key", "1.0.0", "Switchboard tests", "Refused.", register_factories)
