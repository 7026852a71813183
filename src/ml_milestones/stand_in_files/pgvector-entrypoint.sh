#!/bin/sh
# The entrypoint of the pgvector stand-in image (ml_milestones/stand_ins.py): the official
# postgres image's start-up, reduced to what a compose stack uses. On first start: a cluster
# owned by POSTGRES_USER (a superuser) with POSTGRES_PASSWORD and the database POSTGRES_DB,
# password authentication from other hosts, listening on every address; PGDATA under the volume
# at /var/lib/postgresql, as the official images keep it from PostgreSQL 18 on. Unlike the
# official script it runs no /docker-entrypoint-initdb.d scripts.
set -eu
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA"
    chown -R postgres:postgres /var/lib/postgresql
    chmod 700 "$PGDATA"
    # PostgreSQL refuses to run as root.
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?is required, as by the official image: set it in the compose file}"
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    password_file="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$password_file"
    initdb --username="$user" --pwfile="$password_file" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$database" != postgres ]; then
        # Socket only while the database is created: no client sees a half-made server.
        pg_ctl --silent --wait --options="-c listen_addresses=''" start
        createdb --username="$user" "$database"
        pg_ctl --silent --wait --mode=fast stop
    fi
    echo "initialised $PGDATA: user $user, database $database"
fi
exec "$@"
