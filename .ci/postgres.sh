# Sourced by .ci/run: a throwaway PostgreSQL server for the tests of the
# team history (runner/history), which read its URL from
# RUBRIC_TEST_POSTGRES.
#
# start_postgres finds PostgreSQL's programs (under
# /usr/lib/postgresql/*/bin, as Debian installs them, or on PATH), installs
# Debian's postgresql package when they are absent and we are root, creates a
# cluster in a temporary folder, starts it on a free port of 127.0.0.1 as an
# unprivileged user (the postgres user when the package made one, otherwise
# nobody; the current user when not root: PostgreSQL refuses to run as root),
# waits until it accepts connections and exports RUBRIC_TEST_POSTGRES.
# stop_postgres stops it and removes the folder; .ci/run calls it on exit.
#
# Not root and no PostgreSQL: it says so and exports nothing, and the tests
# skip PostgreSQL loudly (or fail, when CI is set).
#
# By hand: source .ci/postgres.sh && start_postgres; ...; stop_postgres

pg_bin=""
pg_tmp=""
pg_user=""

pg_find() {
  local d
  pg_bin=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then pg_bin=$d; fi
  done
  if [ -z "$pg_bin" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    pg_bin=$(dirname "$(command -v initdb)")
  fi
  [ -n "$pg_bin" ]
}

# pg_as runs a command as the cluster's owner.
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

# pg_free_port prints a port of 127.0.0.1 that nothing listens on.
pg_free_port() {
  local p tries=0
  while [ $tries -lt 200 ]; do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
    tries=$((tries + 1))
  done
  return 1
}

start_postgres() {
  if ! pg_find; then
    if [ "$(id -u)" != 0 ]; then
      echo "PostgreSQL not found (no initdb under /usr/lib/postgresql/*/bin or on PATH) and not root to install it:"
      echo "the tests of the team history will skip PostgreSQL (and fail if CI is set)."
      return 0
    fi
    echo "installing PostgreSQL from Debian's packages"
    # The package makes a cluster of its own (main, port 5432); it is left
    # alone, and not used.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql </dev/null >/dev/null
    pg_find || { echo "PostgreSQL installed, but no initdb under /usr/lib/postgresql/*/bin"; return 1; }
  fi
  if [ "$(id -u)" = 0 ]; then
    pg_user=nobody
    if id postgres >/dev/null 2>&1; then pg_user=postgres; fi
  else
    pg_user=$(id -un)
  fi
  pg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/rubric-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then chown "$pg_user" "$pg_tmp"; fi
  pg_as "$pg_bin/initdb" -D "$pg_tmp/data" -U rubric --auth=trust -E UTF8 --no-sync --no-instructions >"$pg_tmp/initdb.log" 2>&1 ||
    { cat "$pg_tmp/initdb.log"; return 1; }
  local port tries=0
  while :; do
    port=$(pg_free_port) || { echo "no free port for PostgreSQL"; return 1; }
    # A throwaway server: no fsync, sockets in its own folder, loopback only.
    if pg_as "$pg_bin/pg_ctl" -D "$pg_tmp/data" -l "$pg_tmp/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ $tries -ge 3 ]; then cat "$pg_tmp/server.log"; return 1; fi
  done
  tries=0
  until "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ $tries -ge 60 ]; then echo "PostgreSQL did not accept connections"; cat "$pg_tmp/server.log"; return 1; fi
    sleep 0.5
  done
  export RUBRIC_TEST_POSTGRES="postgres://rubric@127.0.0.1:$port/postgres?sslmode=disable"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port as $pg_user (RUBRIC_TEST_POSTGRES)"
}

stop_postgres() {
  if [ -n "$pg_tmp" ] && [ -d "$pg_tmp" ]; then
    if [ -f "$pg_tmp/data/postmaster.pid" ]; then
      pg_as "$pg_bin/pg_ctl" -D "$pg_tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$pg_tmp"
  fi
  pg_tmp=""
}
