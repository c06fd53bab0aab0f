#!/usr/bin/env bash
# Installs what tinym2's tests and demo need and is missing on this machine: the Debian
# toolchains (Arm bare-metal gcc + newlib, QEMU system and user mode, aarch64 cross gcc, clang)
# and the npm packages. Safe to run again: it only installs what is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -e /usr/lib/arm-none-eabi/lib/libc.a ] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
command -v clang >/dev/null || need+=(clang)
command -v gcc >/dev/null || need+=(gcc)   # host compiler: C tests and the QEMU plugin
command -v cmake >/dev/null || need+=(cmake)
if [ ${#need[@]} -gt 0 ]; then
  echo "tinym2: installing Debian packages: ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "tinym2: not root; run: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
    exit 4
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# npm packages: onnxruntime-node's install script downloads a binary this machine cannot fetch;
# the CPU binary ships inside the package, so scripts are skipped.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "tinym2: installing npm packages" >&2
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null
fi
