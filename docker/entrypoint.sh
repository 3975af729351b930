#!/bin/sh
# Starts one AtRest role inside the image: init | identity | vault | frontdoor | worker.
# CURVE is on for every link: `init` writes one key pair per service (and one
# shared by all workers, one for operators/health checks) into /keys on its
# first run, plus the allow lists; every later start reads them from there.
# Metrics and health (--metrics-listen) listen on the compose network only
# (expose, no host port): Prometheus scrapes them there (docker/prometheus.yml).
# Service principals' secrets come from the identity service's credentials
# directory, shared read-only as the `credentials` volume.
set -eu
role="${1:-}"
[ $# -gt 0 ] && shift
KEYS=/keys
CRED=/credentials
pub() { sed -n 's/^public=//p' "$KEYS/$1.key"; }

case "$role" in
init)
  for name in identity vault frontdoor worker operator; do
    atrest curve keygen "$KEYS/$name.key" >/dev/null
  done
  # Who may connect to which server socket (client public keys, one a line).
  { pub frontdoor; pub vault; pub worker; pub operator; } > "$KEYS/identity.allow"
  { pub frontdoor; pub worker; pub operator; } > "$KEYS/vault.allow"
  touch "$KEYS/clients.allow"   # operators add client public keys here
  grep -qxF "$(pub operator)" "$KEYS/clients.allow" || pub operator >> "$KEYS/clients.allow"
  pub worker > "$KEYS/workers.allow"
  echo "keys ready in $KEYS"
  ;;
identity)
  exec atrest-identity \
    --endpoint tcp://0.0.0.0:7420 \
    --data-dir /data/identity \
    --service-principal frontdoor --service-principal worker --service-principal keyvault \
    --curve-secret-key-file "$KEYS/identity.key" --curve-allow-file "$KEYS/identity.allow" \
    --metrics-listen 0.0.0.0:9467 \
    "$@"
  ;;
vault)
  exec atrest-keyvault \
    --endpoint tcp://0.0.0.0:7410 --events-endpoint tcp://0.0.0.0:7411 \
    --data-dir /data/vault \
    --plugin-dir /usr/local/lib/atrest/plugins \
    --identity-endpoint tcp://identity:7420 \
    --credentials-file "$CRED/keyvault.secret" \
    --curve-secret-key-file "$KEYS/vault.key" --curve-allow-file "$KEYS/vault.allow" \
    --curve-key-file "$KEYS/vault.key" --identity-server-key="$(pub identity)" \
    --metrics-listen 0.0.0.0:9466 \
    "$@"
  ;;
frontdoor)
  exec atrest-frontdoor \
    --endpoint tcp://0.0.0.0:7400 --workers tcp://0.0.0.0:7401 \
    --identity tcp://identity:7420 --vault tcp://vault:7410 --vault-events tcp://vault:7411 \
    --data-dir /data/frontdoor \
    --credentials-file "$CRED/frontdoor.secret" \
    --curve-secret-key-file "$KEYS/frontdoor.key" --curve-allow-file "$KEYS/clients.allow" \
    --workers-curve-allow-file "$KEYS/workers.allow" \
    --curve-key-file "$KEYS/frontdoor.key" \
    --identity-server-key="$(pub identity)" --vault-server-key="$(pub vault)" \
    --metrics-listen 0.0.0.0:9464 \
    "$@"
  ;;
worker)
  exec atrest-worker \
    --frontdoor tcp://frontdoor:7401 \
    --identity tcp://identity:7420 --vault tcp://vault:7410 --vault-events tcp://vault:7411 \
    --data-dir /data/objects \
    --credentials-file "$CRED/worker.secret" \
    --name "worker-$(hostname)" \
    --status-endpoint tcp://127.0.0.1:7430 \
    --curve-key-file "$KEYS/worker.key" \
    --frontdoor-server-key="$(pub frontdoor)" --identity-server-key="$(pub identity)" --vault-server-key="$(pub vault)" \
    --metrics-listen 0.0.0.0:9465 \
    "$@"
  ;;
*)
  # Anything else runs as given (e.g. `atrest status ...`).
  exec "$role" "$@"
  ;;
esac
