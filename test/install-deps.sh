#!/usr/bin/env bash
# Installs what tinym2's tests and demo need and is missing on this machine, then checks that it is all there.
# What is needed is one list, compiler/target/requirements.ts, checked by the file that is needed (a header
# the board's compiler must find, a library its linker must find, a program on PATH), not by command name
# alone: `apt-get install --no-install-recommends gcc-aarch64-linux-gnu` leaves out the aarch64 C library,
# for example. Safe to run again: with nothing missing it installs nothing (a few seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

# npm packages first: the check below runs TypeScript through tsx. onnxruntime-node's install script
# downloads a binary this machine cannot fetch; the CPU binary ships inside the package, so scripts are skipped.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tinym2: installing npm packages" >&2
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null
fi

# Package names, one a line (no spaces in Debian package names).
missing=$(npx --no-install tsx test/missing-packages.ts)
read -r -d '' -a need <<< "$missing" || true
if [ ${#need[@]} -gt 0 ]; then
  echo "tinym2: installing Debian packages: ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "tinym2: not root; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 4
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt-get (an unattended upgrade) rather than fail on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The list must be complete: anything still missing now is a gap in requirements.ts, named here.
  npx --no-install tsx test/missing-packages.ts --check
fi
