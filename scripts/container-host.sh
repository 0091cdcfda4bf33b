#!/usr/bin/env bash
# A container host for the docker platform on machines like ours: no Docker engine, no Docker Hub, only
# Debian's packages. Installs Podman from Debian, configures it for these machines, starts its
# Docker-compatible API service, and builds the base image offline (debootstrap of Debian bookworm with
# python3 and pip, plus this machine's Node binary and npm), tagged localhost/protium-base:bookworm.
#
# Idempotent: each step is skipped when already done. Needs root (apt-get, rootful Podman).
# The last line of output is the DOCKER_HOST to use, e.g.:
#   npm start -- --platform docker --docker-host "$(scripts/container-host.sh | tail -n1)" \
#     --base-image localhost/protium-base:bookworm
#
# Environment: PROTIUM_CONTAINER_SOCKET (default /run/protium/podman.sock),
#   PROTIUM_BASE_IMAGE (default localhost/protium-base:bookworm), PROTIUM_BASE_ROOTFS (a work folder,
#   default /var/tmp/protium-base), DEBIAN_MIRROR (default: the first deb.debian.org-style URI of apt's
#   sources, else http://deb.debian.org/debian).
set -euo pipefail

socket="${PROTIUM_CONTAINER_SOCKET:-/run/protium/podman.sock}"
image="${PROTIUM_BASE_IMAGE:-localhost/protium-base:bookworm}"
work="${PROTIUM_BASE_ROOTFS:-/var/tmp/protium-base}"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'container-host: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and runs rootful Podman)"

# 1. Packages. runc, not crun: crun refuses the hybrid cgroup layout of these machines. catatonit is the
#    init Podman puts as PID 1 of a container started with --init (replicas are: it reaps what handlers
#    orphan and passes signals on).
need=()
for pkg in podman runc catatonit debootstrap containernetworking-plugins iptables uidmap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${need[@]}" >&2; }
fi

# 2. containers.conf: runc, cgroupfs (no systemd here), and ulimits within the current hard limits
#    (raising RLIMIT_NOFILE/RLIMIT_NPROC is not permitted; runc refuses an nproc near the hard limit, so
#    half of it, at most 32768).
conf=/etc/containers/containers.conf
marker="# written by protium scripts/container-host.sh"
if ! grep -qF "$marker" "$conf" 2>/dev/null; then
  say "writing $conf"
  mkdir -p /etc/containers
  [ -f "$conf" ] && cp "$conf" "$conf.before-protium"
  hard_n=$(ulimit -Hn); soft_n=$(ulimit -Sn)
  [ "$hard_n" = unlimited ] && hard_n=1048576
  [ "$soft_n" = unlimited ] && soft_n=$hard_n
  hard_u=$(ulimit -Hu); [ "$hard_u" = unlimited ] && hard_u=65536
  nproc=$((hard_u / 2)); [ "$nproc" -gt 32768 ] && nproc=32768
  cat > "$conf" <<EOF
$marker
[containers]
default_ulimits = ["nofile=${soft_n}:${hard_n}", "nproc=${nproc}:${nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
fi

# 3. The Docker-compatible API service.
api_ok() { curl -sf -m 5 --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }
if ! api_ok; then
  say "starting podman system service on $socket"
  mkdir -p "$(dirname "$socket")"
  rm -f "$socket"
  setsid nohup podman system service --time=0 "unix://$socket" >/var/log/protium-podman-service.log 2>&1 < /dev/null &
  for _ in $(seq 1 50); do api_ok && break; sleep 0.2; done
  api_ok || die "the Podman API service did not answer on $socket (see /var/log/protium-podman-service.log)"
fi

# 4. The base image, built offline from Debian's mirror: what the processor image is built FROM, and what
#    build commands run in (npm install, pip install). An image from an earlier version of this script
#    without npm or pip is built again.
base_ok() {
  podman image exists "$image" &&
    podman run --rm --network none "$image" sh -c 'command -v node && command -v npm && command -v python3 && python3 -m pip --version' >/dev/null 2>&1
}
if ! base_ok; then
  mirror="${DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
      | awk '{print $2}' | grep -v security | head -n1 || true)
    mirror="${mirror:-http://deb.debian.org/debian}"
  fi
  rootfs="$work/rootfs"
  if [ ! -x "$rootfs/usr/bin/python3" ] || [ ! -d "$rootfs/usr/lib/python3/dist-packages/pip" ]; then
    say "debootstrap bookworm from $mirror into $rootfs (about a minute)"
    rm -rf "$rootfs"
    mkdir -p "$work"
    debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates bookworm "$rootfs" "$mirror" >&2
  fi
  say "adding this machine's Node ($(node --version)) and npm, and importing $image"
  install -m 0755 "$(command -v node)" "$rootfs/usr/local/bin/node"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  rm -rf "$rootfs/usr/local/lib/node_modules/npm"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* 2>/dev/null || true
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/sh"]' - "$image" >&2
  base_ok || die "the base image $image lacks node, npm, python3 or pip after its build"
fi

echo "unix://$socket"
