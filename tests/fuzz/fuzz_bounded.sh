#!/usr/bin/env bash
# Builds the CSTA codec's libFuzzer target with Clang (ASan + UBSan) in its own build directory and runs
# it for a bounded time from the seed corpus. Fails on any crash, leak or sanitizer report.
#   fuzz_bounded.sh SOURCE_DIR FUZZ_BUILD_DIR SECONDS
set -euo pipefail
source_dir=$1
build_dir=$2
seconds=$3

if ! command -v clang++ >/dev/null; then
  echo "clang++ is missing: run scripts/install-deps.sh (package clang)" >&2
  exit 1
fi
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build_dir/build.ninja" ]; then
  CXX=clang++ cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBUILD_TESTING=OFF "${launcher[@]}" >"$build_dir.configure.log" 2>&1 ||
    { cat "$build_dir.configure.log" >&2; exit 1; }
fi
cmake --build "$build_dir" --target csta_codec_fuzz >/dev/null

corpus="$build_dir/corpus"
mkdir -p "$corpus"
cp -n "$source_dir"/drivers/csta/codec/fuzz-seeds/*.frame "$corpus"/ 2>/dev/null || true
artifacts="$build_dir/artifacts/"
mkdir -p "$artifacts"
# -error_exitcode: any finding fails the test; the summary line ("Done N runs in S second(s)") is kept.
"$build_dir/bin/csta_codec_fuzz" -max_total_time="$seconds" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" 2>&1 | tail -n 25
