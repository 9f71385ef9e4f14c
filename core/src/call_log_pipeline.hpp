// Where finished calls go: first durably into storage (group commit: records that arrive while one append
// is in flight go together in the next, and appends start at most once per group_commit_window unless a
// full batch or a flush is waiting, so a busy call centre pays one fsync per window, not per call), then to every exporter in batches, each with its own bounded
// queue and retries. A row is never dropped for storage; an exporter that stays down loses the oldest
// rows beyond its queue, counted and logged.
#pragma once

#include <deque>
#include <vector>

#include "switchboard/core/call_engine.hpp"

namespace switchboard::core {

class CallLogPipeline {
 public:
  CallLogPipeline(sdk::Context& context, const EngineWiring::Storage* storage,
                  std::vector<EngineWiring::Exporter> exporters);

  // On the engine's strand.
  void append(sdk::CallRecord record);
  // Completes once everything appended so far is stored and handed to the exporters (or the pipeline is
  // closed). On the engine's strand.
  void flush(sdk::Completion done);
  // Stops retrying; what is still queued is logged as lost.
  void close();

  static constexpr std::size_t exporter_queue_capacity = 100'000;
  static constexpr std::size_t batch_size = 512;
  // Appends start at most once per window (unless a full batch or a flush waits): a busy host pays one fsync
  // per window however many calls it carries, and a record waits at most the window (plus an append still
  // in flight) to be stored. 10 ms is the group-commit bound the benchmarks hold the call log to.
  static constexpr std::chrono::milliseconds group_commit_window{10};

 private:
  struct ExporterQueue {
    EngineWiring::Exporter target;
    std::deque<sdk::BusinessRecord> queue;
    std::vector<sdk::BusinessRecord> in_flight;
    bool writing = false;
    std::uint64_t dropped = 0;
    std::chrono::milliseconds backoff{0};
    sdk::Timer retry;
  };

  void store_pending(bool now = false);
  void export_stored(std::vector<sdk::CallRecord> stored);
  void write_next(ExporterQueue& q);
  bool idle() const;
  void notify_if_idle();

  sdk::Context& ctx_;
  const EngineWiring::Storage* storage_;
  std::vector<std::unique_ptr<ExporterQueue>> exporters_;
  std::vector<sdk::CallRecord> pending_;
  std::vector<sdk::CallRecord> in_flight_;  // handed to the storage, kept until it confirms them
  bool storing_ = false;
  std::chrono::milliseconds storage_backoff_{0};
  sdk::Timer storage_retry_;
  sdk::Timer group_commit_timer_;  // the next append, when the window since the last one has not passed
  std::chrono::steady_clock::time_point last_store_started_{};
  std::uint64_t next_local_sequence_ = 1;  // when no storage numbers the records
  std::vector<sdk::Completion> flush_waiters_;
  bool closed_ = false;
};

}  // namespace switchboard::core
