#!/usr/bin/env bash
# Build the Debian base image `debian:bookworm-slim` from the package archive
# when no image registry is reachable, and the local PostgreSQL and Redis
# images built on it (deploy/local/). Each image is built only if missing.
#   scripts/container-base.sh          -> base, then huikuan-postgres and huikuan-redis
#   HUIKUAN_REBUILD_BASE=1 scripts/... -> build them again
# Expects podman configured as in deploy/containers.conf (CONTAINERS_CONF).
set -euo pipefail
cd "$(dirname "$0")/.."

base=debian:bookworm-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rebuild=${HUIKUAN_REBUILD_BASE:-}

if [ -n "$rebuild" ] || ! podman image exists "$base"; then
  echo "== building $base with debootstrap from $mirror (a few minutes, once)"
  root=$(mktemp -d /var/tmp/huikuan-base.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
  # As Debian's slim image: the archive and its security updates, no caches.
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  # Slim as Debian's own image: no documentation, manuals or message
  # catalogues, now or from later installs, and apt keeps no caches.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/groff/*' \
    'path-exclude /usr/share/info/*' 'path-exclude /usr/share/lintian/*' \
    'path-exclude /usr/share/locale/*' >"$root/etc/dpkg/dpkg.cfg.d/slim"
  printf '%s\n' \
    'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
    'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >"$root/etc/apt/apt.conf.d/slim-clean"
  (
    cd "${root:?}" # every path below is inside the new root
    find usr/share/doc -mindepth 2 ! -name copyright ! -type d -delete
    rm -rf usr/share/man/* usr/share/groff/* usr/share/info/* usr/share/lintian/* \
      usr/share/locale/* var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/*
  )
  tar -C "$root" -c . | podman import --quiet --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$root"
  trap - EXIT
else
  echo "== $base already built"
fi

for service in postgres redis; do
  image=huikuan-$service:local
  if [ -n "$rebuild" ] || ! podman image exists "$image"; then
    echo "== building $image from deploy/local/$service.Dockerfile"
    podman build --quiet --network host --format docker --build-arg "BASE_IMAGE=$base" \
      -t "$image" -f "deploy/local/$service.Dockerfile" deploy/local >/dev/null
  else
    echo "== $image already built"
  fi
done
