// Discovers plugin libraries, checks their ABI before trusting them, and owns every factory they register.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "switchboard/sdk/category.hpp"
#include "switchboard/sdk/factory.hpp"

namespace switchboard::core {

struct LoadedPlugin {
  std::string file;
  std::string id;
  std::string version;
  std::string vendor;
  std::string description;
  unsigned abi_major = 0;
  unsigned abi_minor = 0;
};

struct RefusedFile {
  std::string file;
  std::string reason;  // one line: what is wrong, both versions where it applies, and the fix
};

struct RegisteredFactory {
  const sdk::Factory* factory = nullptr;
  const LoadedPlugin* plugin = nullptr;
};

class PluginRegistry {
 public:
  PluginRegistry() = default;
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;
  ~PluginRegistry();

  // Every "*.so" in `directory` (not recursive), in name order. A missing directory is refused.
  void load_directory(const std::string& directory);
  // The default directories (see default_directories()), then `extra`, in that order.
  void load_search_path(const std::vector<std::string>& extra);
  // One library; refusals are recorded, never thrown.
  void load_file(const std::string& file);

  const RegisteredFactory* find(sdk::Category category, const std::string& type) const;
  std::vector<std::string> types(sdk::Category category) const;
  const std::vector<RegisteredFactory>& factories() const noexcept { return factories_; }
  const std::vector<std::unique_ptr<LoadedPlugin>>& plugins() const noexcept { return plugins_; }
  const std::vector<RefusedFile>& refused() const noexcept { return refused_; }

  // The default search path: the plugins beside this host (build tree or install prefix), then
  // SWITCHBOARD_PLUGIN_PATH (colon-separated).
  static std::vector<std::string> default_directories();

 private:
  void refuse(const std::string& file, std::string reason);

  // Destroyed in reverse order: factories go before the libraries that hold their code.
  std::vector<boost::dll::shared_library> libraries_;
  std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
  std::vector<std::unique_ptr<sdk::Factory>> owned_factories_;
  std::vector<RegisteredFactory> factories_;
  std::vector<RefusedFile> refused_;
  std::vector<std::string> seen_files_;
};

}  // namespace switchboard::core
