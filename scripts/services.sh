#!/usr/bin/env bash
# Start the services the tests talk to, installing them first where missing
# (scripts/packages.sh): Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432
# (trust auth for local users).
set -euo pipefail
here="$(dirname "$0")"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
  echo "nothing answers on 127.0.0.1:$1" >&2; return 1
}

if ! port_open 6379; then
  "$here/packages.sh" redis
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --maxmemory-policy noeviction --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_port 6379
fi

if ! port_open 5432; then
  "$here/packages.sh" postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "govpub-trust" "$conf"; then
    { echo "# govpub-trust: local test databases"
      echo "host all all 127.0.0.1/32 trust"
      echo "host all all ::1/128 trust"
      echo "local all all trust"; cat "$conf"; } > "$conf.new" && mv "$conf.new" "$conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_port 5432
fi
