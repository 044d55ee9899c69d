#!/usr/bin/env bash
# Installs PostgreSQL and PostGIS from Debian's packages, starts the cluster, and creates the
# role and database `geo_service` (with the postgis extension) that the PostGIS tests use.
# Runs as root (as CI does); re-runnable: what is already there is left as it is.
#
# Prints the test database's address as shell `export` lines on stdout (everything else goes to
# stderr), so that .ci/run can do:
#     eval "$(bash .ci/postgis.sh)"
# With `--env-file FILE`, the same lines are also written to FILE (for `source FILE`).
set -euo pipefail

DB_NAME=geo_service
DB_USER=geo_service
DB_PASSWORD=geo_service
DB_HOST=127.0.0.1
ENV_FILE=""

while [[ $# -gt 0 ]]; do
    case "$1" in
        --env-file) ENV_FILE="$2"; shift 2 ;;
        *) echo "usage: $0 [--env-file FILE]" >&2; exit 2 ;;
    esac
done

log() { echo "postgis.sh: $*" >&2; }

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
    if [[ $apt_updated -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq >&2 || log "apt-get update failed; trying the package lists already here"
        apt_updated=1
    fi
    log "apt-get install $*"
    local out
    out="$(mktemp)"
    if ! apt-get install -y -qq --no-install-recommends "$@" >"${out}" 2>&1; then
        cat "${out}" >&2
        rm -f "${out}"
        return 1
    fi
    rm -f "${out}"
}

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1
then
    apt_install postgresql
fi
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
if ! dpkg-query -W -f='${Status}' "postgresql-${PG_VERSION}-postgis-3" 2>/dev/null \
    | grep -q "install ok installed"; then
    apt_install "postgresql-${PG_VERSION}-postgis-3"
fi

if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "${PG_VERSION} main"; then
    log "creating cluster ${PG_VERSION}/main"
    pg_createcluster "${PG_VERSION}" main >&2
fi
if ! pg_lsclusters -h | awk -v v="${PG_VERSION}" '$1 == v && $2 == "main" {print $4}' \
    | grep -q online; then
    log "starting cluster ${PG_VERSION}/main"
    pg_ctlcluster "${PG_VERSION}" main start >&2
fi
PG_PORT="$(pg_lsclusters -h | awk -v v="${PG_VERSION}" '$1 == v && $2 == "main" {print $3}')"

psql_admin() {
    runuser -u postgres -- psql --port "${PG_PORT}" -v ON_ERROR_STOP=1 -qAt "$@"
}
for _ in $(seq 1 30); do
    psql_admin -c "SELECT 1" >/dev/null 2>&1 && break
    sleep 1
done

psql_admin -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DB_USER}') THEN
        CREATE ROLE ${DB_USER} LOGIN;
    END IF;
END \$\$;" >&2
psql_admin -c "ALTER ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASSWORD}'" >&2
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" != "1" ]]; then
    log "creating database ${DB_NAME}"
    psql_admin -c "CREATE DATABASE ${DB_NAME} OWNER ${DB_USER}" >&2
fi
psql_admin -d "${DB_NAME}" -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION IF NOT EXISTS postgis" >&2
log "PostGIS $(psql_admin -d "${DB_NAME}" -c "SELECT postgis_lib_version()") on PostgreSQL \
${PG_VERSION}, port ${PG_PORT}, database ${DB_NAME} ready"

URL="postgresql://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:${PG_PORT}/${DB_NAME}"
LINES="export GEO_SERVICE_TEST_DATABASE_URL=${URL}"
if [[ -n "${ENV_FILE}" ]]; then
    printf '%s\n' "${LINES}" >"${ENV_FILE}"
fi
printf '%s\n' "${LINES}"
