#!/bin/sh
# Docker health check: `atrest status` against this container's own service
# (exit 0 only when it answers). The operator key pair is on every server's
# allow list; workers serve status without CURVE on 127.0.0.1 inside their container.
set -eu
KEYS=/keys
pub() { sed -n 's/^public=//p' "$KEYS/$1.key"; }
case "${1:-}" in
identity)  exec atrest status --timeout 3 --endpoint tcp://127.0.0.1:7420 --curve-server-key="$(pub identity)" --curve-key-file "$KEYS/operator.key" ;;
vault)     exec atrest status --timeout 3 --endpoint tcp://127.0.0.1:7410 --curve-server-key="$(pub vault)" --curve-key-file "$KEYS/operator.key" ;;
frontdoor) exec atrest status --timeout 3 --endpoint tcp://127.0.0.1:7400 --curve-server-key="$(pub frontdoor)" --curve-key-file "$KEYS/operator.key" ;;
worker)    exec atrest status --timeout 3 --endpoint tcp://127.0.0.1:7430 ;;
*) echo "usage: atrest-healthcheck identity|vault|frontdoor|worker" >&2; exit 2 ;;
esac
