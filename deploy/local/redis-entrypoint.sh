#!/bin/sh
# Run redis-server as the redis user in /data; without a configuration file,
# listen on all addresses with protected mode off, as the official image does.
set -eu

if [ "${1:-}" = redis-server ]; then
  case "${2:-}" in
    *.conf) ;;
    *) shift; set -- redis-server --bind '* -::*' --protected-mode no "$@" ;;
  esac
fi

if [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
