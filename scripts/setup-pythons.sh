#!/usr/bin/env bash
# Builds the test interpreters lockprof needs that Debian does not package: CPython 3.13 free-threaded
# (--disable-gil) and CPython 3.13 with the GIL, both from Debian trixie's *source* package python3.13.
#
# Idempotent and cached: the results live under $LOCKPROF_CACHE (default ~/.cache/lockprof) and a finished
# build is never redone. The system's apt sources are never touched: a private apt configuration with its own
# lists and cache directories is used only to fetch the source.
#
# Usage: scripts/setup-pythons.sh [--ft-only]
# Prints nothing on success when everything is cached; exits non-zero with a message on failure.
set -euo pipefail

cache=${LOCKPROF_CACHE:-$HOME/.cache/lockprof}
apt_dir=$cache/apt-trixie
src_dir=$cache/src
mkdir -p "$cache" "$src_dir"

log() { printf 'setup-pythons: %s\n' "$*" >&2; }

want=(ft gil)
[ "${1:-}" = "--ft-only" ] && want=(ft)

need_build=0
for flavour in "${want[@]}"; do
  [ -e "$cache/py313-$flavour/.lockprof-complete" ] || need_build=1
done
[ "$need_build" = 0 ] && exit 0

# Build dependencies (Debian packages only). Only what the tests and examples need: ctypes (libffi), zlib,
# bz2/lzma for the test suite's imports, sqlite is not needed.
pkgs=(build-essential pkg-config libffi-dev zlib1g-dev libbz2-dev liblzma-dev libssl-dev libexpat1-dev dpkg-dev xz-utils)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing build dependencies: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}" >/dev/null
fi

tarball=$(ls "$src_dir"/python3.13_*.orig.tar.xz 2>/dev/null | head -n1 || true)
if [ -z "$tarball" ]; then
  log "fetching python3.13 source from Debian trixie (private apt configuration in $apt_dir)"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
  echo "deb-src http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
  aptopts=(-o "APT::Sandbox::User=root" -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
           -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
           -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1")
  apt-get "${aptopts[@]}" -q update >/dev/null
  (cd "$src_dir" && apt-get "${aptopts[@]}" -q source --download-only python3.13 >/dev/null)
  tarball=$(ls "$src_dir"/python3.13_*.orig.tar.xz | head -n1)
fi

for flavour in "${want[@]}"; do
  prefix=$cache/py313-$flavour
  [ -e "$prefix/.lockprof-complete" ] && continue
  build=$cache/build-313-$flavour
  rm -rf "$build" "$prefix"
  mkdir -p "$build"
  tar -xJf "$tarball" -C "$build" --strip-components=1
  flags=()
  [ "$flavour" = ft ] && flags=(--disable-gil)
  log "building CPython 3.13 ($flavour) in $build (a few minutes)"
  (cd "$build" && ./configure -q --prefix="$prefix" --without-ensurepip "${flags[@]}" >/dev/null \
     && make -s -j"$(nproc)" >/dev/null 2>"$build/make.err" && make -s install >/dev/null 2>>"$build/make.err") \
     || { log "build of $flavour failed; see $build/make.err"; exit 1; }
  [ -x "$prefix/bin/python3.13" ] || { log "install of $flavour failed"; exit 1; }
  touch "$prefix/.lockprof-complete"
  rm -rf "$build"
  log "ready: $prefix/bin/python3.13"
done
