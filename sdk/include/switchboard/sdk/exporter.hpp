// Extension point: log exporter. Business records (the call log, the audit), not process logs.
// The core batches (size and latency limits), retries failed batches and bounds the queue (drops are
// counted and alerted), so an exporter only writes one batch at a time.
#pragma once

#include <vector>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/instance.hpp"
#include "switchboard/sdk/result.hpp"
#include "switchboard/sdk/types.hpp"

namespace switchboard::sdk {

class LogExporter : public Instance {
 public:
  static constexpr Category category = Category::exporter;

  // Write every record of `batch`, then call `done`. On an error the core retries the same batch later,
  // so writing must be idempotent per record sequence or the exporter must report partial progress as error.
  virtual void write(std::vector<BusinessRecord> batch, Completion done) = 0;
};

}  // namespace switchboard::sdk
