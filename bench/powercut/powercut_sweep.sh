#!/bin/sh
# Power-cut sweeps of the host tests, built without sanitizers. `make bench` samples (as CI does);
# `make bench-long` (OTA_BENCH_LONG=1) cuts at every flash operation of every scenario.
#   powercut_sweep.sh POWERCUT_BOOT POWERCUT_DOWNLOAD
set -eu
boot=$1
download=$2
if [ "${OTA_BENCH_LONG:-0}" = 1 ]; then
    echo "power-cut sweep: every flash operation (bench-long)"
    POWERCUT_BUDGET=1000000 "$boot"
    "$download" 1
else
    echo "power-cut sweep: sampled (make bench-long cuts at every operation)"
    "$boot" 600
    "$download" 97
fi
