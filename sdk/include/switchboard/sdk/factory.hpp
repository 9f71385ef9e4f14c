// A factory: one implementation of one extension point, with its declared configuration.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/config.hpp"
#include "switchboard/sdk/context.hpp"
#include "switchboard/sdk/instance.hpp"

namespace switchboard::sdk {

class Factory {
 public:
  virtual ~Factory() = default;
  virtual Category category() const = 0;
  // The `type:` that selects this factory in YAML ("csta", "log"); unique within its category.
  virtual const std::string& type() const = 0;
  // One line, shown by `plugins list` and the generated reference.
  virtual const std::string& summary() const = 0;
  virtual const ConfigSchema& schema() const = 0;
  // Semantic checks the schema cannot express (key A requires key B, ...): report with diag.error(settings, key, msg).
  virtual void validate(const Settings& settings, Diagnostics& diag) const = 0;
  // Builds an instance of the factory's category (a PbxDriver for a driver factory, ...). Must not start it.
  virtual std::unique_ptr<Instance> create(Context& context, const Settings& settings) const = 0;
};

// The usual factory: `Impl` derives from one extension-point interface and provides
//   static ConfigSchema schema();
//   Impl(Context&, const Settings&);
// and, optionally, static void validate(const Settings&, Diagnostics&).
template <class Impl>
class FactoryFor final : public Factory {
 public:
  FactoryFor(std::string type, std::string summary)
      : type_(std::move(type)), summary_(std::move(summary)), schema_(Impl::schema()) {}

  Category category() const override { return Impl::category; }
  const std::string& type() const override { return type_; }
  const std::string& summary() const override { return summary_; }
  const ConfigSchema& schema() const override { return schema_; }
  void validate(const Settings& settings, Diagnostics& diag) const override {
    if constexpr (requires { Impl::validate(settings, diag); }) Impl::validate(settings, diag);
  }
  std::unique_ptr<Instance> create(Context& context, const Settings& settings) const override {
    return std::make_unique<Impl>(context, settings);
  }

 private:
  std::string type_;
  std::string summary_;
  ConfigSchema schema_;
};

}  // namespace switchboard::sdk
