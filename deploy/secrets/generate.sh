#!/bin/sh
# Write the secrets compose needs into this folder, keeping any that exist.
set -eu
cd "$(dirname "$0")"
umask 077
random() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }
[ -s postgres_password ] || random > postgres_password
[ -s govpub_database_url ] || \
  printf 'postgresql+psycopg://govpub:%s@postgres:5432/govpub\n' "$(cat postgres_password)" > govpub_database_url
[ -s govpub_secret_key ] || random > govpub_secret_key
[ -s govpub_wechat_secret ] || echo "replace-with-the-AppSecret" > govpub_wechat_secret
# Compose bind-mounts each file with its own mode, and the containers run as uid 10001
# (govpub) and 999 (postgres): the files are readable, the folder closed to other users.
chmod 0644 postgres_password govpub_database_url govpub_secret_key govpub_wechat_secret
chmod 0700 .
echo "secrets in $(pwd): $(ls | grep -v -e README -e generate.sh | tr '\n' ' ')"
