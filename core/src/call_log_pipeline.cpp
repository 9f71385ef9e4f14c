#include "call_log_pipeline.hpp"

#include <algorithm>

namespace switchboard::core {
namespace {
constexpr std::chrono::milliseconds first_backoff{500};
constexpr std::chrono::milliseconds max_backoff{30'000};

std::chrono::milliseconds next_backoff(std::chrono::milliseconds current) {
  return current.count() == 0 ? first_backoff : std::min(current * 2, max_backoff);
}
}  // namespace

CallLogPipeline::CallLogPipeline(sdk::Context& context, const EngineWiring::Storage* storage,
                                 std::vector<EngineWiring::Exporter> exporters)
    : ctx_(context), storage_(storage) {
  for (auto& e : exporters) {
    auto q = std::make_unique<ExporterQueue>();
    q->target = e;
    exporters_.push_back(std::move(q));
  }
}

void CallLogPipeline::append(sdk::CallRecord record) {
  if (closed_) {
    ctx_.logger().error("call log closed: record lost call={} project={} caller={}", record.call_id, record.project,
                        record.caller);
    return;
  }
  pending_.push_back(std::move(record));
  if (!storing_) store_pending();
}

void CallLogPipeline::store_pending(bool now) {
  if (pending_.empty() || storing_ || closed_) return notify_if_idle();
  if (!storage_) {
    for (auto& r : pending_) r.sequence = next_local_sequence_++;
    export_stored(std::exchange(pending_, {}));
    return notify_if_idle();
  }
  auto since_last = ctx_.clock().steady_now() - last_store_started_;
  if (!now && since_last < group_commit_window && pending_.size() < batch_size && flush_waiters_.empty()) {
    if (!group_commit_timer_)
      group_commit_timer_ = ctx_.call_after(group_commit_window - since_last, [this] {
        group_commit_timer_.reset();
        store_pending(true);
      });
    return;
  }
  group_commit_timer_.reset();
  last_store_started_ = ctx_.clock().steady_now();
  storing_ = true;
  // The batch stays here until the storage confirms it, so a failed append loses nothing; the storage gets
  // its own copy (the SDK hands records over by value), the only copy a record makes on its way.
  in_flight_ = std::exchange(pending_, {});
  auto* storage = storage_->storage;
  auto done = ctx_.on_strand([this](sdk::Result<std::vector<sdk::CallRecord>> result) {
    storing_ = false;
    if (!result) {
      // Never lose a row: put the batch back in front and try again later.
      storage_backoff_ = next_backoff(storage_backoff_);
      ctx_.logger().warn("call log not stored, retrying in {}ms records={} error=\"{}\"", storage_backoff_.count(),
                         in_flight_.size(), result.error().message);
      pending_.insert(pending_.begin(), std::make_move_iterator(in_flight_.begin()),
                      std::make_move_iterator(in_flight_.end()));
      in_flight_.clear();
      storage_retry_ = ctx_.call_after(storage_backoff_, [this] { store_pending(true); });
      return;
    }
    in_flight_.clear();
    storage_backoff_ = std::chrono::milliseconds(0);
    export_stored(std::move(result.value()));
    store_pending();
  });
  sdk::asio::post(*storage_->strand, [storage, batch = in_flight_, done = std::move(done)]() mutable {
    storage->append_calls(std::move(batch), std::move(done));
  });
}

void CallLogPipeline::export_stored(std::vector<sdk::CallRecord> stored) {
  for (auto& q : exporters_) {
    for (const auto& r : stored) {
      if (q->queue.size() >= exporter_queue_capacity) {
        q->queue.pop_front();
        if (q->dropped++ % 1000 == 0)
          ctx_.logger().warn("exporter queue full, oldest records dropped exporter={} dropped={}", q->target.name,
                             q->dropped);
      }
      q->queue.emplace_back(r);
    }
    write_next(*q);
  }
}

void CallLogPipeline::write_next(ExporterQueue& q) {
  if (q.writing || closed_) return;
  if (q.in_flight.empty()) {
    if (q.queue.empty()) return notify_if_idle();
    std::size_t n = std::min(batch_size, q.queue.size());
    q.in_flight.assign(std::make_move_iterator(q.queue.begin()),
                       std::make_move_iterator(q.queue.begin() + static_cast<std::ptrdiff_t>(n)));
    q.queue.erase(q.queue.begin(), q.queue.begin() + static_cast<std::ptrdiff_t>(n));
  }
  q.writing = true;
  auto* exporter = q.target.exporter;
  auto done = ctx_.on_strand([this, &q](sdk::Status status) {
    q.writing = false;
    if (!status.ok()) {
      q.backoff = next_backoff(q.backoff);
      ctx_.logger().warn("exporter failed, retrying in {}ms exporter={} records={} error=\"{}\"", q.backoff.count(),
                         q.target.name, q.in_flight.size(), status.error().message);
      q.retry = ctx_.call_after(q.backoff, [this, &q] { write_next(q); });
      return;
    }
    q.backoff = std::chrono::milliseconds(0);
    q.in_flight.clear();
    write_next(q);
    notify_if_idle();
  });
  sdk::asio::post(*q.target.strand, [exporter, batch = q.in_flight, done = std::move(done)]() mutable {
    exporter->write(std::move(batch), std::move(done));
  });
}

bool CallLogPipeline::idle() const {
  if (storing_ || !pending_.empty()) return false;
  return std::all_of(exporters_.begin(), exporters_.end(),
                     [](const auto& q) { return !q->writing && q->in_flight.empty() && q->queue.empty(); });
}

void CallLogPipeline::notify_if_idle() {
  if (!idle() && !closed_) return;
  for (auto& w : std::exchange(flush_waiters_, {})) w({});
}

void CallLogPipeline::flush(sdk::Completion done) {
  flush_waiters_.push_back(std::move(done));
  store_pending(true);
}

void CallLogPipeline::close() {
  std::size_t lost = pending_.size();
  for (auto& q : exporters_) {
    if (!q->queue.empty() || !q->in_flight.empty())
      ctx_.logger().warn("exporter stopped with records unwritten exporter={} records={}", q->target.name,
                         q->queue.size() + q->in_flight.size());
    q->retry.reset();
  }
  if (lost) ctx_.logger().error("call log stopped with records not stored records={}", lost);
  storage_retry_.reset();
  group_commit_timer_.reset();
  closed_ = true;
  notify_if_idle();
}

}  // namespace switchboard::core
