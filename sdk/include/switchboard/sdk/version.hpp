// Switchboard SDK version and ABI.
//
// ABI policy (full text: docs/sdk-abi-policy.md):
//  - A plugin records the ABI major and minor of the SDK headers it was compiled with, and a build tag
//    naming the toolchain and the libraries whose types cross the boundary (compiler, C++ standard,
//    libstdc++, Boost, fmt).
//  - The host loads a plugin only when: major equal, plugin minor <= host minor, build tag equal.
//  - Any change that alters a released class layout, a virtual table or a value type's members bumps the
//    major. Adding a new interface, a new factory category or a new free inline helper bumps the minor.
//  - Never add a virtual to a released interface: extend by a new interface or a capability flag.
#pragma once

#include <boost/version.hpp>
#include <fmt/core.h>

#define SWITCHBOARD_SDK_ABI_MAJOR 1
#define SWITCHBOARD_SDK_ABI_MINOR 1
#define SWITCHBOARD_VERSION "0.1.0"

#define SWITCHBOARD_DETAIL_STR2(x) #x
#define SWITCHBOARD_DETAIL_STR(x) SWITCHBOARD_DETAIL_STR2(x)

#if defined(__clang__)
#define SWITCHBOARD_DETAIL_COMPILER "clang-" SWITCHBOARD_DETAIL_STR(__clang_major__)
#elif defined(__GNUC__)
#define SWITCHBOARD_DETAIL_COMPILER "gcc-" SWITCHBOARD_DETAIL_STR(__GNUC__)
#else
#define SWITCHBOARD_DETAIL_COMPILER "unknown"
#endif

#if defined(_GLIBCXX_RELEASE)
#define SWITCHBOARD_DETAIL_STDLIB \
  "libstdc++-" SWITCHBOARD_DETAIL_STR(_GLIBCXX_RELEASE) "-abi" SWITCHBOARD_DETAIL_STR(_GLIBCXX_USE_CXX11_ABI)
#else
#define SWITCHBOARD_DETAIL_STDLIB "stdlib-unknown"
#endif

// The build tag: everything whose types or layouts cross the host/plugin boundary.
#define SWITCHBOARD_SDK_BUILD_TAG                                                              \
  SWITCHBOARD_DETAIL_COMPILER ";" SWITCHBOARD_DETAIL_STDLIB ";cxx-" SWITCHBOARD_DETAIL_STR(    \
      __cplusplus) ";boost-" SWITCHBOARD_DETAIL_STR(BOOST_VERSION) ";fmt-" SWITCHBOARD_DETAIL_STR(FMT_VERSION)

namespace switchboard::sdk {

inline constexpr unsigned abi_major = SWITCHBOARD_SDK_ABI_MAJOR;
inline constexpr unsigned abi_minor = SWITCHBOARD_SDK_ABI_MINOR;
inline constexpr const char* build_tag = SWITCHBOARD_SDK_BUILD_TAG;
inline constexpr const char* version = SWITCHBOARD_VERSION;

}  // namespace switchboard::sdk
