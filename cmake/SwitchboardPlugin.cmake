# switchboard_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# Builds one plugin library (a MODULE without the "lib" prefix) against Switchboard::sdk and installs it
# into SWITCHBOARD_PLUGIN_INSTALL_DIR (lib/switchboard/plugins under the install prefix), where the host
# looks. The same function serves first-party plugins in the source tree and vendors' plugins built
# with find_package(Switchboard).
function(switchboard_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "switchboard_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Switchboard::sdk)
  # Default visibility on purpose: Asio's header-only statics must unify with the host's (see
  # docs/architecture.md, "Asio across the boundary").
  set_target_properties(${name} PROPERTIES PREFIX "" CXX_EXTENSIONS OFF)
  target_compile_features(${name} PRIVATE cxx_std_20)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DEFINED SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${SWITCHBOARD_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION "${SWITCHBOARD_PLUGIN_INSTALL_DIR}")
  endif()
  if(TARGET switchboard_plugins)
    add_dependencies(switchboard_plugins ${name})
  endif()
endfunction()
