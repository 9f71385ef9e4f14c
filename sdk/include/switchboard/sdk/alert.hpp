// Extension point: alert action. Delivers one alert (mail, SMS, a command, the log); rules, debounce and
// dedup live in the core, so an action stays simple.
#pragma once

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/instance.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

class AlertAction : public Instance {
 public:
  static constexpr Category category = Category::alert;

  virtual void fire(const Alert& alert, Completion done) = 0;
};

}  // namespace switchboard::sdk
