// What a plugin's register function receives: the one place factories enter the host.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "switchboard/sdk/factory.hpp"

namespace switchboard::sdk {

class Registrar {
 public:
  virtual ~Registrar() = default;
  // The host owns the factory from here on; a type already registered in its category is refused
  // (reported by the host, naming both plugins).
  virtual void add(std::unique_ptr<Factory> factory) = 0;

  // registrar.add<LogAlert>("log", "Writes each alert to the host log.");
  template <class Impl>
  void add(std::string type, std::string summary) {
    add(std::make_unique<FactoryFor<Impl>>(std::move(type), std::move(summary)));
  }
};

}  // namespace switchboard::sdk
