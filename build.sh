#!/usr/bin/env bash
# KeyedLock build entry point.
#
#   ./build.sh test    build everything and run every test suite (the one command CI runs).
#                      Installs what the tests need when it is missing (PostgreSQL, Redis and Chromium
#                      from Debian's packages, as root), starts a throwaway PostgreSQL cluster and a
#                      throwaway redis-server (persistence off) on free loopback ports, runs the tests,
#                      stops both.
#   ./build.sh build   build the solution (warnings are errors in src/).
#   ./build.sh bench [filter]   run the BenchmarkDotNet suite (Release), e.g. ./build.sh bench '*Uncontended*'
#   ./build.sh mutate  mutation testing of src/KeyedLock.Core with tests/KeyedLock.Core.Tests (Stryker.NET, pinned
#                      in .config/dotnet-tools.json; settings in tests/KeyedLock.Core.Tests/stryker-config.json; the
#                      Category=Stress tests are left out). Prints the mutation score. STRYKER_CONCURRENCY=N overrides.
#   ./build.sh api     rewrite src/*/PublicAPI.Unshipped.txt from the code (after a public API change or a merge).
#   ./build.sh pack    pack every src/ package (.nupkg + .snupkg) into artifacts/packages.
#
# Environment:
#   KEYEDLOCK_PG_CONNECTION  use this PostgreSQL instead of starting a throwaway cluster.
#   KEYEDLOCK_REDIS_CONNECTION  use this Redis instead of starting a throwaway redis-server (the fault tests that
#                            stop and restart the server also need KEYEDLOCK_REDIS_SERVER/_PORT/_DIR).
#   CI=true                  tests that need PostgreSQL, Redis or Chromium fail (not skip) when they are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
CONFIGURATION="${CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[build.sh] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = "0" ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null; then log "apt-get not found; install $* by hand"; return 1; fi
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

ensure_postgres() {
  if [ -z "$(pg_bindir)" ]; then
    log "PostgreSQL not found: installing Debian's postgresql package"
    apt_install postgresql postgresql-contrib
  fi
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    log "Chromium not found: installing Debian's chromium package"
    apt_install chromium || log "could not install chromium; browser tests will report it"
  fi
}

ensure_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    log "redis-server not found: installing Debian's redis-server package"
    apt_install redis-server
  fi
}

free_port() {
  local port
  for port in $(seq "${1:-55432}" "$(( ${1:-55432} + 100 ))"); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  return 1
}

PG_DIR=""
PG_RUN_AS=()
pg_start() {
  ensure_postgres
  local bindir port
  bindir="$(pg_bindir)"
  port="$(free_port)"
  PG_DIR="$(mktemp -d /tmp/keyedlock-pg.XXXXXX)"
  if [ "$(id -u)" = "0" ]; then
    # initdb refuses to run as root: run the throwaway cluster as the postgres system user.
    id postgres >/dev/null 2>&1 || as_root useradd --system --home "$PG_DIR" postgres
    chown postgres "$PG_DIR"
    chmod 700 "$PG_DIR"
    PG_RUN_AS=(runuser -u postgres --)
  fi
  "${PG_RUN_AS[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  # Settings go into postgresql.conf (not pg_ctl -o) so that a plain `pg_ctl -D "$KEYEDLOCK_PG_DATA" start`
  # from a fault-injection test brings back the same server on the same port and socket directory.
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
port = $port
unix_socket_directories = '$PG_DIR'
listen_addresses = '127.0.0.1'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  "${PG_RUN_AS[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >&2 \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  export KEYEDLOCK_PG_CONNECTION="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=100"
  # Let tests stop and restart the server (fault-injection tests) through pg_ctl.
  export KEYEDLOCK_PG_CTL="$bindir/pg_ctl"
  export KEYEDLOCK_PG_DATA="$PG_DIR/data"
  export KEYEDLOCK_PG_RUN_AS="${PG_RUN_AS[*]:-}"
  export KEYEDLOCK_PG_PORT="$port"
  export KEYEDLOCK_PG_SOCKETDIR="$PG_DIR"
  log "PostgreSQL running on 127.0.0.1:$port (data in $PG_DIR)"
}

pg_stop() {
  if [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_RUN_AS[@]}" "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

REDIS_DIR=""
redis_start() {
  ensure_redis
  local port server
  port="$(free_port 56379)"
  server="$(command -v redis-server)"
  REDIS_DIR="$(mktemp -d /tmp/keyedlock-redis.XXXXXX)"
  # Persistence off (a restart loses every key, which the fault tests rely on); the same arguments are what a
  # fault-injection test uses to start the server again after stopping it.
  "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$REDIS_DIR/redis.pid" --dir "$REDIS_DIR" --logfile "$REDIS_DIR/redis.log" >&2 \
    || { cat "$REDIS_DIR/redis.log" >&2 2>/dev/null; return 1; }
  local i
  for i in $(seq 1 100); do
    redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null || { cat "$REDIS_DIR/redis.log" >&2; return 1; }
  export KEYEDLOCK_REDIS_CONNECTION="127.0.0.1:$port"
  export KEYEDLOCK_REDIS_PORT="$port"
  export KEYEDLOCK_REDIS_SERVER="$server"
  export KEYEDLOCK_REDIS_DIR="$REDIS_DIR"
  log "Redis running on 127.0.0.1:$port (files in $REDIS_DIR)"
}

redis_stop() {
  if [ -n "$REDIS_DIR" ] && [ -d "$REDIS_DIR" ]; then
    redis-cli -h 127.0.0.1 -p "$KEYEDLOCK_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    if [ -f "$REDIS_DIR/redis.pid" ]; then kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true; fi
    rm -rf "$REDIS_DIR"
  fi
}

stop_services() {
  redis_stop
  pg_stop
}

cmd_build() {
  dotnet build KeyedLock.sln -c "$CONFIGURATION" -nologo -v minimal
}

cmd_test() {
  ensure_chromium
  trap stop_services EXIT
  if [ -z "${KEYEDLOCK_PG_CONNECTION:-}" ]; then
    pg_start
  fi
  if [ -z "${KEYEDLOCK_REDIS_CONNECTION:-}" ]; then
    redis_start
  fi
  cmd_build
  local results="$ROOT/artifacts/test-results"
  rm -rf "$results"; mkdir -p "$results"
  local rc=0
  # One test assembly at a time: the machine has 2 cores and the suites are concurrency tests.
  dotnet test KeyedLock.sln -c "$CONFIGURATION" --no-build -nologo -m:1 \
    --logger "trx" --results-directory "$results" --blame-hang-timeout 10m 2>&1 | tee "$results/console.log" || rc=$?
  summarize "$results/console.log"
  return $rc
}

# Prints one closing line with the totals of every test assembly, e.g. "tests: 250 passed, 0 failed, 1 skipped".
summarize() {
  local log="$1"
  echo
  # VSTest prints one line per assembly: "Passed!  - Failed: 0, Passed: 45, Skipped: 0, Total: 45, ..."
  awk '/(Passed|Failed)! +- +Failed:/ {
         for (i = 1; i <= NF; i++) {
           if ($i == "Failed:")  f += $(i + 1)
           if ($i == "Passed:")  p += $(i + 1)
           if ($i == "Skipped:") s += $(i + 1)
         }
       }
       END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
}

cmd_bench() {
  local filter="${1:-*}"
  dotnet run -c Release --project benchmarks/KeyedLock.Benchmarks -- --filter "$filter"
}

cmd_mutate() {
  dotnet tool restore >&2
  local out="$ROOT/artifacts/mutation"
  rm -rf "$out"; mkdir -p "$out"
  # Stryker analyses the projects with MSBuild; a restored, built test project makes that reliable on a fresh clone.
  dotnet build tests/KeyedLock.Core.Tests -c "$CONFIGURATION" -nologo -v quiet >&2
  local args=(--config-file stryker-config.json --output "$out")
  if [ -n "${STRYKER_CONCURRENCY:-}" ]; then args+=(--concurrency "$STRYKER_CONCURRENCY"); fi
  local rc=0
  (cd tests/KeyedLock.Core.Tests && dotnet tool run dotnet-stryker "${args[@]}") 2>&1 | tee "$out/console.log" || rc=$?
  local score
  score=$(grep -oE 'The final mutation score is [0-9.]+ ?%' "$out/console.log" | tail -n 1 || true)
  echo
  echo "mutation: ${score:-no score (see $out/console.log)}"
  return $rc
}

cmd_api() {
  python3 scripts/public-api.py
}

cmd_pack() {
  rm -rf "$ROOT/artifacts/packages"
  local project
  for project in src/*/*.csproj; do
    dotnet pack "$project" -c "$CONFIGURATION" -nologo -v minimal -o "$ROOT/artifacts/packages"
  done
}

case "${1:-test}" in
  test) cmd_test ;;
  build) cmd_build ;;
  bench) shift; cmd_bench "$@" ;;
  mutate) cmd_mutate ;;
  api) cmd_api ;;
  pack) cmd_pack ;;
  *) echo "usage: ./build.sh [test|build|bench [filter]|mutate|api|pack]" >&2; exit 2 ;;
esac
