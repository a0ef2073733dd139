#!/usr/bin/env bash
# Installs everything the build, tests, demo and benchmarks need, from Debian's packages.
# Idempotent and non-interactive; run as root (or with sudo available) on Debian 12.
set -euo pipefail

PACKAGES=(
    # build
    make cmake ninja-build pkg-config
    gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
    clang libclang-rt-14-dev llvm
    # libraries for host tests, tools and the virtual board
    libcmocka-dev libssl-dev libunicorn-dev openssl
    # servers and emulators started by tests
    nginx-light qemu-system-arm
    # lint
    cppcheck clang-tidy clang-format
    # flashing a real board (documented, not run in CI)
    openocd
    # scripting in tests
    python3 curl procps util-linux bsdutils
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx's package starts a system-wide server on port 80; tests start their own on loopback ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    $SUDO systemctl stop nginx || true
fi
echo "setup: done"
