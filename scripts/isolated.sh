#!/usr/bin/env bash
# Runs a command in a private network namespace: loopback plus one veth host address
# (198.18.0.1, a benchmarking range) with a default route that leads nowhere, so WebRTC
# has a host candidate and no packet can leave this machine. Without the privilege to
# create a namespace (not root), it runs the command as it is.
set -euo pipefail
if [ "${RENDEZ_ISOLATED:-}" = 1 ] || ! unshare -n true 2>/dev/null; then
  exec "$@"
fi
exec unshare -n env RENDEZ_ISOLATED=1 bash -c '
  ip link set lo up
  ip link add rdz0 type veth peer name rdz1
  ip addr add 198.18.0.1/24 dev rdz0
  ip link set rdz0 up
  ip link set rdz1 up
  ip route add default via 198.18.0.2 dev rdz0
  exec "$@"' isolated "$@"
