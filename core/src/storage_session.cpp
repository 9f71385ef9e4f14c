#include "switchboard/core/storage_session.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

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
  session->runtime_->without_console();
  if (auto status = session->runtime_->start(); !status.ok()) return status.error();
  return session;
}

std::unique_ptr<ToolStorage> open_tool_storage(const std::string& config_file, const std::vector<std::string>& plugin_dirs,
                                               const std::string& name, int& exit_code) {
  auto tool = std::make_unique<ToolStorage>();
  tool->config = load_config_file(config_file, tool->registry, plugin_dirs, std::cerr, false);
  if (!tool->config) {
    exit_code = 2;
    return nullptr;
  }
  tool->logs.configure(tool->config->host.object("logging"), true);
  auto session = StorageSession::open(*tool->config, tool->logs, name);
  if (!session) {
    std::cerr << "error: " << session.error().message << '\n';
    bool config_problem =
        session.error().code == sdk::ErrorCode::not_found || session.error().code == sdk::ErrorCode::invalid_argument;
    exit_code = config_problem ? 2 : 1;
    return nullptr;
  }
  tool->session = std::move(session.value());
  return tool;
}

bool write_file_replacing(const std::string& path, const std::string& bytes) {
  std::string temp = path + ".partial";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!(out << bytes) || !out.flush()) {
      std::cerr << "error: cannot write " << path << ": " << std::strerror(errno) << '\n';
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::cerr << "error: cannot write " << path << ": " << std::strerror(errno) << '\n';
    return false;
  }
  return true;
}

StorageSession::~StorageSession() {
  if (runtime_) runtime_->stop();
}

sdk::Storage& StorageSession::storage() {
  return *static_cast<sdk::Storage*>(runtime_->instances().front().instance.get());
}

sdk::Strand& StorageSession::strand() { return runtime_->instances().front().context->strand(); }

}  // namespace switchboard::core
