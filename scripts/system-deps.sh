#!/usr/bin/env bash
# Installs the Debian packages Corral's tests and benchmarks use, when missing:
#   qemu-system-x86, qemu-utils  the real QEMU driver's integration tests
#   rsync                        the replication benchmark's baseline
#   wrk                          the HTTP benchmark's C load generator (and its test)
#   chromium                     renders the simulator's report.html in a test
# Runs as root with apt-get (CI and the development machines); elsewhere it only reports.
set -euo pipefail
need=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86 qemu-utils)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]}; install them with apt-get (not root here)" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
