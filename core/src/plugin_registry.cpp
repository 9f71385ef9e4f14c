#include "switchboard/core/plugin_registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <boost/dll/library_info.hpp>
#include <boost/dll/runtime_symbol_info.hpp>

#include "switchboard/sdk/plugin.hpp"
#include "switchboard/sdk/registrar.hpp"
#include "switchboard/sdk/version.hpp"

namespace switchboard::core {
namespace fs = std::filesystem;

namespace {

std::string host_abi() {
  return std::to_string(sdk::abi_major) + "." + std::to_string(sdk::abi_minor);
}

std::string rebuild_hint() {
  return "rebuild the plugin against a Switchboard SDK of ABI " + std::to_string(sdk::abi_major) +
         ".x (`switchboard --version` shows the host's)";
}

// Collects a plugin's factories; refusals are reported by the registry with the plugin's file.
class CollectingRegistrar final : public sdk::Registrar {
 public:
  using sdk::Registrar::add;
  void add(std::unique_ptr<sdk::Factory> factory) override {
    if (factory) factories.push_back(std::move(factory));
  }
  std::vector<std::unique_ptr<sdk::Factory>> factories;
};

// Every declared key needs a doc: the configuration reference is generated from them.
std::string undocumented_key(const sdk::ConfigSchema& schema, const std::string& prefix) {
  for (const auto& key : schema.keys()) {
    if (key.doc.empty()) return prefix + key.name;
    const sdk::TypeSpec* t = &key.type;
    while ((t->type == sdk::ValueType::list || t->type == sdk::ValueType::map) && t->element) t = t->element.get();
    if (t->type == sdk::ValueType::object) {
      auto nested = undocumented_key(*t->object, prefix + key.name + ".");
      if (!nested.empty()) return nested;
    }
  }
  return {};
}

}  // namespace

PluginRegistry::~PluginRegistry() {
  factories_.clear();
  owned_factories_.clear();
}

void PluginRegistry::refuse(const std::string& file, std::string reason) {
  refused_.push_back({file, std::move(reason)});
}

std::vector<std::string> PluginRegistry::default_directories() {
  std::vector<std::string> dirs;
  std::error_code ec;
  auto exe = boost::dll::program_location(ec);
  if (!ec) {
    fs::path beside = fs::path(exe.string()).parent_path().parent_path() / "lib" / "switchboard" / "plugins";
    if (fs::is_directory(beside)) dirs.push_back(beside.lexically_normal().string());
  }
  if (const char* env = std::getenv("SWITCHBOARD_PLUGIN_PATH")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ':'))
      if (!item.empty()) dirs.push_back(item);
  }
  return dirs;
}

void PluginRegistry::load_search_path(const std::vector<std::string>& extra) {
  for (const auto& d : default_directories()) load_directory(d);
  for (const auto& d : extra) load_directory(d);
}

void PluginRegistry::load_directory(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    refuse(directory, "plugin directory does not exist or is not a directory; fix plugins.paths or --plugin-dir");
    return;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(directory, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f.string());
}

void PluginRegistry::load_file(const std::string& file) {
  std::error_code ec;
  std::string canonical = fs::weakly_canonical(file, ec).string();
  if (ec) canonical = file;
  if (std::find(seen_files_.begin(), seen_files_.end(), canonical) != seen_files_.end()) return;
  seen_files_.push_back(canonical);

  // 1. Read the symbol table without loading: the alias names the ABI major.
  std::vector<std::string> aliases;
  try {
    boost::dll::library_info info(file);
    for (const auto& symbol : info.symbols("boostdll"))
      if (symbol.rfind(SWITCHBOARD_PLUGIN_ALIAS_PREFIX, 0) == 0) aliases.push_back(symbol);
  } catch (const std::exception& e) {
    refuse(file, "not a readable shared library (corrupt or truncated?): " + std::string(e.what()) +
                     "; reinstall the plugin or remove the file from the plugin directory");
    return;
  }
  if (aliases.empty()) {
    refuse(file, "not a Switchboard plugin: it exports no " SWITCHBOARD_PLUGIN_ALIAS_PREFIX
                 "* descriptor; build it with SWITCHBOARD_PLUGIN(...) or remove it from the plugin directory");
    return;
  }
  if (aliases.size() > 1) {
    refuse(file, "exports several plugin descriptors; a library holds exactly one SWITCHBOARD_PLUGIN(...)");
    return;
  }
  const std::string alias = aliases.front();
  unsigned major = 0;
  try {
    major = static_cast<unsigned>(std::stoul(alias.substr(std::string(SWITCHBOARD_PLUGIN_ALIAS_PREFIX).size())));
  } catch (const std::exception&) {
    refuse(file, "malformed plugin descriptor symbol '" + alias + "'");
    return;
  }
  if (major != sdk::abi_major) {
    refuse(file, "built for SDK ABI " + std::to_string(major) + "; this host provides ABI " + host_abi() + "; " +
                     rebuild_hint());
    return;
  }

  // 2. Load it and read the descriptor.
  boost::dll::shared_library library;
  try {
    library.load(file, boost::dll::load_mode::rtld_lazy | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    refuse(file, "cannot be loaded: " + std::string(e.what()) + "; " + rebuild_hint());
    return;
  }
  const sdk::PluginDescriptor* d = nullptr;
  try {
    d = library.get_alias<sdk::PluginEntry>(alias)();
  } catch (const std::exception& e) {
    refuse(file, "cannot read the plugin descriptor: " + std::string(e.what()));
    return;
  }
  if (!d || d->struct_size < sizeof(sdk::PluginDescriptor) || !d->id || !d->version || !d->build_tag ||
      !d->register_factories) {
    refuse(file, "the plugin descriptor is incomplete; " + rebuild_hint());
    return;
  }
  std::string plugin_abi = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  if (d->abi_major != sdk::abi_major) {
    refuse(file, "built for SDK ABI " + plugin_abi + "; this host provides ABI " + host_abi() + "; " + rebuild_hint());
    return;
  }
  if (d->abi_minor > sdk::abi_minor) {
    refuse(file, "built for SDK ABI " + plugin_abi + "; this host provides ABI " + host_abi() +
                     " (older); upgrade the host to a release with ABI " + plugin_abi + " or newer, or " +
                     "rebuild the plugin against this host's SDK (ABI " + host_abi() + ")");
    return;
  }
  if (std::string(d->build_tag) != sdk::build_tag) {
    refuse(file, std::string("built with [") + d->build_tag + "]; this host was built with [" + sdk::build_tag +
                     "]; rebuild the plugin with the host's compiler and libraries");
    return;
  }
  for (const auto& p : plugins_) {
    if (p->id == d->id) {
      refuse(file, "plugin id '" + std::string(d->id) + "' is already loaded from " + p->file +
                       "; keep one copy in the plugin path");
      return;
    }
  }

  // 3. Let it register its factories; refuse the whole plugin if any factory is unusable.
  CollectingRegistrar registrar;
  try {
    d->register_factories(registrar);
  } catch (const std::exception& e) {
    refuse(file, "plugin '" + std::string(d->id) + "' failed while registering its factories: " + e.what());
    return;
  }
  for (const auto& f : registrar.factories) {
    std::string kind = std::string(sdk::to_string(f->category())) + " '" + f->type() + "'";
    if (auto key = undocumented_key(f->schema(), ""); !key.empty()) {
      refuse(file, "plugin '" + std::string(d->id) + "': " + kind + " declares key '" + key +
                       "' without a doc; every key needs one");
      return;
    }
    if (auto existing = find(f->category(), f->type())) {
      refuse(file, "plugin '" + std::string(d->id) + "' registers " + kind + ", which plugin '" +
                       existing->plugin->id + "' (" + existing->plugin->file + ") already provides");
      return;
    }
  }

  auto plugin = std::make_unique<LoadedPlugin>();
  plugin->file = file;
  plugin->id = d->id;
  plugin->version = d->version;
  plugin->vendor = d->vendor ? d->vendor : "";
  plugin->description = d->description ? d->description : "";
  plugin->abi_major = d->abi_major;
  plugin->abi_minor = d->abi_minor;
  for (auto& f : registrar.factories) {
    factories_.push_back({f.get(), plugin.get()});
    owned_factories_.push_back(std::move(f));
  }
  plugins_.push_back(std::move(plugin));
  libraries_.push_back(std::move(library));
}

const RegisteredFactory* PluginRegistry::find(sdk::Category category, const std::string& type) const {
  for (const auto& f : factories_)
    if (f.factory->category() == category && f.factory->type() == type) return &f;
  return nullptr;
}

std::vector<std::string> PluginRegistry::types(sdk::Category category) const {
  std::vector<std::string> out;
  for (const auto& f : factories_)
    if (f.factory->category() == category) out.push_back(f.factory->type());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace switchboard::core
