#!/usr/bin/env bash
# Private MariaDB and Redis instances for the integration tests, on loopback only,
# with their data under var/services/ (nothing touches a system-wide server).
#   scripts/test-services.sh start   start both (idempotent), print the env to use
#   scripts/test-services.sh stop    stop both
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/var/services"
mkdir -p "$dir"
sock="$dir/mariadb.sock"

# A port that is free now (the wanted one if possible); remembered in var/services/ so that
# a second `start` finds the same instances.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local name=$1 want=$2 file="$dir/$1.port"
  if [ -f "$file" ]; then cat "$file"; return; fi
  local port=$want
  while ! port_free "$port"; do port=$((port + 1)); done
  echo "$port" >"$file"
  echo "$port"
}
MYSQL_PORT=${TEST_MYSQL_PORT:-$(pick_port mariadb 3307)}
REDIS_PORT=${TEST_REDIS_PORT:-$(pick_port redis 6390)}

mariadb_bin() { command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null || true; }

start_mariadb() {
  local bin; bin=$(mariadb_bin)
  [ -n "$bin" ] || { echo "mariadb-server is not installed" >&2; return 1; }
  if [ -S "$sock" ] && mariadb --socket="$sock" -uroot -e "SELECT 1" >/dev/null 2>&1; then return 0; fi
  if ! port_free "$MYSQL_PORT"; then rm -f "$dir/mariadb.port"; MYSQL_PORT=$(pick_port mariadb 3307); fi
  if [ ! -d "$dir/mariadb/mysql" ]; then
    mariadb-install-db --no-defaults --datadir="$dir/mariadb" --user="$(id -un)" \
      --auth-root-authentication-method=socket >"$dir/mariadb-install.log" 2>&1
  fi
  nohup "$bin" --no-defaults --datadir="$dir/mariadb" --socket="$sock" --port="$MYSQL_PORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$dir/mariadb.pid" \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --skip-log-bin \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --max-connections=300 --log-error="$dir/mariadb.err" >>"$dir/mariadb.err" 2>&1 &
  for _ in $(seq 1 60); do
    mariadb --socket="$sock" -uroot -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
  done
  mariadb --socket="$sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'loansite'@'127.0.0.1' IDENTIFIED BY 'loansite';
    CREATE USER IF NOT EXISTS 'loansite'@'localhost' IDENTIFIED BY 'loansite';
    GRANT ALL PRIVILEGES ON *.* TO 'loansite'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO 'loansite'@'localhost';
    CREATE DATABASE IF NOT EXISTS loansite CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
    FLUSH PRIVILEGES;" || { echo "MariaDB did not start; see $dir/mariadb.err" >&2; return 1; }
}

start_redis() {
  command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; return 1; }
  if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then return 0; fi
  if ! port_free "$REDIS_PORT"; then rm -f "$dir/redis.port"; REDIS_PORT=$(pick_port redis 6390); fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 1 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "Redis did not start; see $dir/redis.log" >&2
  return 1
}

case "${1:-start}" in
  start)
    status=0
    start_mariadb || status=1
    start_redis || status=1
    echo "export TEST_DATABASE_URL=mysql://loansite:loansite@127.0.0.1:$MYSQL_PORT/loansite"
    echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    exit $status
    ;;
  stop)
    [ -f "$dir/mariadb.pid" ] && kill "$(cat "$dir/mariadb.pid")" 2>/dev/null || true
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/mariadb.port" "$dir/redis.port"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
