#!/usr/bin/env bash
# A complete backup of an AtRest cluster on the local backend, taken while it
# runs (docs/OPERATIONS.md "Backup and restore"), in the order that keeps it
# consistent: the objects first, then the account registry, then the vault,
# so no backed-up object lacks its wrapped account key and no wrapped key
# lacks its KEK version. The root keys go to a separate directory: keep it
# apart from the data (a backup with its keys is plaintext to whoever holds
# both).
#
#   scripts/backup.sh --objects DIR --frontdoor DIR --vault DIR [--identity DIR]
#                     [--registry-store DIR] --out BACKUP --keys-out KEYS
#                     [--recover BIN] [--attempts N]
#
# BACKUP gets objects/, registry-store/, vault/ (without root.key) and
# identity/ (without root.key); KEYS gets vault-root.key, frontdoor-root.key
# and identity-root.key (mode 0600). Keys given only in environment
# variables are not in any file: the script says so, and they must be kept
# in your secret store. Temp files, writer locks and container locks of the
# local backend are left out (they are never data). Record maps (queues:
# `.records/<namespace>/<map>.sqlite`, SQLite in WAL mode) are copied with
# SQLite's online backup (the `sqlite3` tool), each one a consistent snapshot:
# a file copy of a database being written can be torn. Directory maps
# (`queues.sqlite`) are copied before the maps they name, so every queue in the
# backup has its messages.
#
# With --recover (the atrest-recover executable) the backup is verified
# offline from the copied keys; a block list replaced while it was copied
# shows as damaged, and the whole sequence is taken again, up to --attempts
# times (default 3). Exit status 0 only for a backup that verified (or, without
# --recover, was copied).
set -euo pipefail

objects="" frontdoor="" vault="" identity="" registry="" out="" keys="" recover="" attempts=3
while [ $# -gt 0 ]; do
  case "$1" in
    --objects) objects="$2"; shift 2 ;;
    --frontdoor) frontdoor="$2"; shift 2 ;;
    --vault) vault="$2"; shift 2 ;;
    --identity) identity="$2"; shift 2 ;;
    --registry-store) registry="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keys-out) keys="$2"; shift 2 ;;
    --recover) recover="$2"; shift 2 ;;
    --attempts) attempts="$2"; shift 2 ;;
    *) echo "backup: unknown argument '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
for required in objects frontdoor vault out keys; do
  [ -n "${!required}" ] || { echo "backup: --${required/keys/keys-out} is required" >&2; exit 2; }
done
registry="${registry:-$frontdoor/registry-store}"
for dir in "$objects" "$registry" "$vault" ${identity:+"$identity"}; do
  [ -d "$dir" ] || { echo "backup: '$dir' is not a directory" >&2; exit 1; }
done
[ ! -e "$out" ] || { echo "backup: '$out' exists; give a new directory" >&2; exit 1; }
umask 077

# Copies a tree without the local backend's temp files and locks. GNU tar
# exits 1 when a file changed while it was read: verification decides.
copy() { # source, destination, extra tar arguments
  mkdir -p "$2"
  local status=0 source="$1" destination="$2"
  shift 2
  tar -C "$source" -cf - --exclude='.tmp-*' --exclude='.writers' --exclude='.lock' --exclude='root.key' "$@" . 2>/dev/null \
    | tar -C "$destination" -xf - || status=$?
  [ "$status" -le 1 ] || { echo "backup: copying '$source' failed (tar status $status)" >&2; exit 1; }
}

# Copies the record maps under $1/.records to $2/.records, each with SQLite's
# online backup; the `queues` directory maps first (see the top).
copy_record_maps() { # objects source, objects destination
  [ -d "$1/.records" ] || return 0
  command -v sqlite3 >/dev/null || { echo "backup: the record maps need the sqlite3 tool (apt-get install sqlite3)" >&2; exit 1; }
  local map relative
  while IFS= read -r map; do
    relative="${map#"$1"/}"
    mkdir -p "$2/$(dirname "$relative")"
    sqlite3 "file:$map?mode=ro" ".timeout 10000" ".backup '$2/$relative'" \
      || { echo "backup: copying the record map '$map' failed" >&2; exit 1; }
  done < <(find "$1/.records" -name 'queues.sqlite' -type f; find "$1/.records" -name '*.sqlite' ! -name 'queues.sqlite' -type f)
}

copy_key() { # source file, environment variable, name in KEYS
  if [ -f "$1" ]; then
    cp "$1" "$keys/$3" && chmod 600 "$keys/$3"
  elif [ -n "${!2:-}" ]; then
    echo "backup: the $3 is in \$$2, not in a file: keep it in your secret store" >&2
  else
    echo "backup: no key file '$1' and \$$2 unset: this backup cannot be read" >&2
    exit 1
  fi
}

mkdir -p "$keys"
copy_key "$vault/root.key" ATREST_VAULT_ROOT_KEY vault-root.key
copy_key "$frontdoor/registry.key" ATREST_FRONTDOOR_ROOT_KEY frontdoor-root.key
[ -z "$identity" ] || copy_key "$identity/root.key" ATREST_IDENTITY_ROOT_KEY identity-root.key

for attempt in $(seq 1 "$attempts"); do
  rm -rf "$out"
  mkdir -p "$out"
  copy "$objects" "$out/objects" --exclude='./.records'   # 1. objects,
  copy_record_maps "$objects" "$out/objects"              #    record maps
  copy "$registry" "$out/registry-store"    # 2. wrapped account keys
  # 3. the vault, after the registry (KEK versions are only added). The
  # audit anchor before the log: the log only grows, so the copy reaches it.
  mkdir -p "$out/vault"
  [ ! -f "$vault/audit.log.head" ] || cp -p "$vault/audit.log.head" "$out/vault/"
  copy "$vault" "$out/vault" --exclude='audit.log.head'
  [ -z "$identity" ] || copy "$identity" "$out/identity"   # 4. principals, signing keys
  if [ -z "$recover" ]; then
    echo "backup: copied to $out, keys to $keys (not verified: no --recover)"
    exit 0
  fi
  report="$out.verify-report"
  if "$recover" --vault-dir "$out/vault" --vault-root-key-file "$keys/vault-root.key" \
       --frontdoor-dir "$out" --frontdoor-root-key-file "$keys/frontdoor-root.key" \
       --registry-store "$out/registry-store" --data-dir "$out/objects" --verify > "$report" 2>&1; then
    echo "backup: copied to $out, keys to $keys, verified: $(tail -n 1 "$report")"
    rm -f "$report"
    exit 0
  fi
  echo "backup: attempt $attempt did not verify:" >&2
  grep -E '^damaged|atrest-recover:' "$report" >&2 || tail -n 5 "$report" >&2
done
echo "backup: no consistent copy in $attempts attempts; see $report" >&2
exit 1
