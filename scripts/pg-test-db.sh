#!/bin/sh
# pg-test-db.sh: make a local PostgreSQL ready for the HSS store tests and print its DSN.
#
# Idempotent; run as root. Installs PostgreSQL with apt when it is missing, creates and starts
# the newest cluster, then creates the role and database ims_test. Only the DSN goes to stdout:
#
#   export IMS_TEST_POSTGRES_DSN="$(scripts/pg-test-db.sh)"
#
# Progress and errors go to stderr; the exit status is non-zero when the database is not usable.
set -eu

ROLE=ims_test
DB=ims_test
PASSWORD=ims_test

log() { echo "pg-test-db: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	log "must run as root"
	exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
	log "installing postgresql with apt-get"
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2; }
fi

VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
	log "creating cluster $VERSION/main"
	pg_createcluster "$VERSION" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
	log "starting cluster $VERSION/main"
	pg_ctlcluster "$VERSION" main start >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" '$1 == v && $2 == "main" { print $3 }')

psql_admin() { runuser -u postgres -- psql -p "$PORT" -X -q -v ON_ERROR_STOP=1 "$@"; }

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
	log "creating role $ROLE"
	psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
	log "creating database $DB"
	psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

DSN="postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB?sslmode=disable"
# The store tests create one schema per test inside this database.
PGPASSWORD=$PASSWORD psql -X -q -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" -c "SELECT 1" >/dev/null
echo "$DSN"
