#!/usr/bin/env bash
# Build mythoughts/postgres:15 offline from Debian's packages: debootstrap a
# minimal bookworm with postgresql-15 (Debian's mirror is the only network
# needed), trim it, import it as a base image, add the entry point.
#   deploy/postgres/build.sh           build (reuses the base image if present)
#   REBUILD=1 deploy/postgres/build.sh rebuild the base from scratch
# Needs root (debootstrap and chroot) and the debootstrap package.
set -euo pipefail
cd "$(dirname "$0")"
base=mythoughts/postgres-rootfs:15-bookworm
image=mythoughts/postgres:15
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${REBUILD:-0}" = 1 ] || ! docker image inspect "$base" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" "$mirror" >/dev/null
  # The package's post-install made a cluster; the entry point makes its own.
  rm -rf "$rootfs/var/lib/postgresql/15" "$rootfs/etc/postgresql/15/main"
  # The official image's user and group ids, so volumes and tmpfs options match.
  old_uid="$(chroot "$rootfs" id -u postgres)" old_gid="$(chroot "$rootfs" id -g postgres)"
  chroot "$rootfs" groupmod -g 999 postgres
  chroot "$rootfs" usermod -u 999 -g 999 postgres
  find "$rootfs" -xdev \( -uid "$old_uid" -o -gid "$old_gid" \) -exec chown -h 999:999 {} +
  install -d -o 999 -g 999 -m 0700 "$rootfs/var/lib/postgresql/data"
  install -d -o 999 -g 999 -m 3777 "$rootfs/run/postgresql"   # /var/run is a symlink to /run
  install -d -m 0755 "$rootfs/docker-entrypoint-initdb.d"
  # Nothing at run time needs the package caches, documentation or translations.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
fi
docker build --quiet -t "$image" . >/dev/null
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$image"
