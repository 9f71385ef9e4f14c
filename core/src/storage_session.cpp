#include "switchboard/core/storage_session.hpp"

namespace switchboard::core {

sdk::Result<std::unique_ptr<StorageSession>> StorageSession::open(const HostConfig& config, LogSetup& logs,
                                                                  const std::string& name) {
  std::unique_ptr<StorageSession> session(new StorageSession());
  session->config_ = HostConfig{config.file, config.host, {}};
  std::string names;
  for (const auto& i : config.instances) {
    if (i.category != sdk::Category::storage) continue;
    names += (names.empty() ? "" : ", ") + i.name;
    if (name.empty() || i.name == name) session->config_.instances.push_back(i);
  }
  if (session->config_.instances.empty())
    return sdk::make_error(sdk::ErrorCode::not_found,
                           name.empty() ? "no storage instance is configured in " + config.file
                                        : "no storage instance named '" + name + "' in " + config.file +
                                              (names.empty() ? "" : " (there are: " + names + ")"));
  if (session->config_.instances.size() > 1)
    return sdk::make_error(sdk::ErrorCode::invalid_argument,
                           config.file + " configures several storage instances (" + names + "): choose one with --storage");
  session->name_ = session->config_.instances.front().name;
  session->runtime_ = std::make_unique<Runtime>(session->config_, logs);
  if (auto status = session->runtime_->start(); !status.ok()) return status.error();
  return session;
}

StorageSession::~StorageSession() {
  if (runtime_) runtime_->stop();
}

sdk::Storage& StorageSession::storage() {
  return *static_cast<sdk::Storage*>(runtime_->instances().front().instance.get());
}

sdk::Strand& StorageSession::strand() { return runtime_->instances().front().context->strand(); }

}  // namespace switchboard::core
