#!/usr/bin/env bash
# Generates what docker-compose.yml mounts and nothing commits: a CA, TLS certificates for each
# Region's NATS server (the replication link between Regions runs over mutual TLS) and for the
# services, random passwords, and per-Region environment files that hold them (among them the
# control plane's broker admin password, given to the control plane as
# CONTROL_PLANE_BROKER_ADMIN_PASSWORD and to the brokers as BROKER_CONTROL_PLANE_PASSWORD).
#
#   deploy/docker/gen-secrets.sh            # into deploy/docker/generated/ (kept if present)
#   deploy/docker/gen-secrets.sh --force    # regenerate everything
#   CRDR_SECRETS_DIR=/path deploy/docker/gen-secrets.sh
#
# By hand, the certificates are these openssl commands (a P-256 CA, then one key and certificate
# per server or client, signed by the CA, with the DNS names the other containers dial):
#   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
#     -subj /CN=crdr-compose-ca -keyout ca-key.pem -out ca.pem
#   openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=nats-a \
#     -keyout nats-a-key.pem -out nats-a.csr
#   openssl x509 -req -in nats-a.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 825 \
#     -extfile <(printf 'subjectAltName=DNS:nats-a,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n') \
#     -out nats-a.pem
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
out=${CRDR_SECRETS_DIR:-generated}
force=false
[ "${1:-}" = "--force" ] && force=true

command -v openssl >/dev/null 2>&1 || {
  echo "gen-secrets: openssl is missing: apt-get install openssl" >&2
  exit 1
}

if [ -f "$out/region-a.env" ] && [ "$force" = false ]; then
  # Files from an older version lack the control plane's broker admin password: add it, keeping
  # every other secret (Postgres volumes were initialised with theirs).
  for region in a b; do
    env_file="$out/region-$region.env"
    if [ -f "$env_file" ] && ! grep -q '^CONTROL_PLANE_BROKER_ADMIN_PASSWORD=' "$env_file"; then
      secret=$(openssl rand -hex 24)
      printf 'CONTROL_PLANE_BROKER_ADMIN_PASSWORD=%s\nBROKER_CONTROL_PLANE_PASSWORD=%s\n' \
        "$secret" "$secret" >>"$env_file"
      echo "gen-secrets: added the control plane's broker admin password to $env_file"
    fi
  done
  echo "gen-secrets: $out exists; --force regenerates it"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out"
chmod 700 "$out"
cd "$out"

days=825
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

openssl req -x509 "${newkey[@]}" -days "$days" -subj /CN=crdr-compose-ca \
  -keyout ca-key.pem -out ca.pem 2>/dev/null

# issue NAME SUBJECT_ALT_NAMES: a key and certificate signed by the CA, usable by a server and a
# client alike (NATS verifies client certificates: `verify: true`).
issue() {
  local name=$1 sans=$2
  openssl req "${newkey[@]}" -subj "/CN=$name" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans") \
    -out "$name.pem" 2>/dev/null
  rm -f "$name.csr"
}
issue nats-a 'DNS:nats-a,DNS:localhost,IP:127.0.0.1'
issue nats-b 'DNS:nats-b,DNS:localhost,IP:127.0.0.1'
issue client 'DNS:crdr-client'
rm -f ca.srl ca-key.pem
# Containers run as other users (postgres 999, nats, node 1000): the files must be readable.
chmod 644 ./*.pem

password() { openssl rand -hex 24; }

for region in a b; do
  printf -v "pg_$region" '%s' "$(password)"
  printf -v "nats_admin_$region" '%s' "$(password)"
  printf -v "nats_replication_$region" '%s' "$(password)"
  printf -v "broker_admin_$region" '%s' "$(password)"
  printf -v "cp_broker_admin_$region" '%s' "$(password)"
done

# write_region REGION PEER: the environment of one Region's containers.
write_region() {
  local r=$1 p=$2
  local pg_var="pg_$r" admin_var="nats_admin_$r" repl_var="nats_replication_$r"
  local peer_repl_var="nats_replication_$p" broker_var="broker_admin_$r"
  local cp_broker_var="cp_broker_admin_$r"
  local pg="postgres://crdr:${!pg_var}@postgres-$r:5432"
  printf '%s\n' "${!pg_var}" >"postgres-$r.password"
  cat >"nats-$r.env" <<ENV
NATS_ADMIN_PASSWORD=${!admin_var}
NATS_REPLICATION_PASSWORD=${!repl_var}
ENV
  cat >"region-$r.env" <<ENV
CONTROL_PLANE_DB_URL=$pg/crdr_control_plane
CONTROL_PLANE_BROKER_PG_URL=$pg/postgres
CONTROL_PLANE_NATS_PASSWORD=${!admin_var}
CONTROL_PLANE_REPLICATION_PASSWORD=${!repl_var}
CONTROL_PLANE_BROKER_ADMIN_PASSWORD=${!cp_broker_var}
METRICS_DB_URL=$pg/crdr_metrics
BROKER_DB_URL=$pg/crdr_broker_orders_$r
BROKER_NATS_PASSWORD=${!admin_var}
BROKER_USERS=admin:${!broker_var}
BROKER_CONTROL_PLANE_PASSWORD=${!cp_broker_var}
REPLICATOR_DB_URL=$pg/crdr_broker_orders_$r
REPLICATOR_NATS_PASSWORD=${!peer_repl_var}
ENV
}
write_region a b
write_region b a
chmod 644 ./*.env ./*.password
echo "gen-secrets: wrote $(pwd)"
