#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for strata's tests (run as root): the
# packages strata and its tests use, an unprivileged test user with
# subordinate id ranges, and /dev/fuse at its usual mode.
set -euo pipefail
TEST_USER=${STRATA_TEST_USER:-strata-test}
packages=(uidmap fuse-overlayfs fsverity attr util-linux bash bash-completion zsh fish tmux busybox-static umoci skopeo zstd iproute2 docker-registry apache2-utils)

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "provision: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! id "$TEST_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$TEST_USER"
fi
grep -q "^$TEST_USER:" /etc/subuid || usermod --add-subuids 200000-265535 "$TEST_USER"
grep -q "^$TEST_USER:" /etc/subgid || usermod --add-subgids 200000-265535 "$TEST_USER"

# fuse-overlayfs needs /dev/fuse; 0666 is its usual mode, some containers give 0600
[ -e /dev/fuse ] && chmod 0666 /dev/fuse

# a tree holding a real device node, which only root can make: imports must skip and count it
devtree=/var/lib/strata-test/devtree
if [ ! -c "$devtree/null" ]; then
  mkdir -p "$devtree"
  mknod "$devtree/null" c 1 3
  echo "a file beside a device node" > "$devtree/file"
fi
chmod a+rx /var/lib/strata-test "$devtree" && chmod a+r "$devtree/file"

# trees holding what only root can read (a directory, a file stored as an
# object, a file stored inline): imports must name it, not fail as a bug
private=/var/lib/strata-test/unreadable
if [ ! -e "$private/small/secret" ]; then
  for t in dir file small; do mkdir -p "$private/$t" && echo ok > "$private/$t/readable"; done
  mkdir -p "$private/dir/locked" && echo s > "$private/dir/locked/f" && chmod 0700 "$private/dir/locked"
  head -c 1000 /dev/urandom > "$private/file/secret" && chmod 0600 "$private/file/secret"
  echo tiny > "$private/small/secret"
fi
# the modes are set on every run: a machine whose tree lost them (an older
# provisioning made everything readable) must not pass these cases by accident
chmod a+rx /var/lib/strata-test "$private" "$private"/* && chmod a+r "$private"/*/readable
chmod 0700 "$private/dir/locked" && chmod 0600 "$private/file/secret" "$private/small/secret"

# two small filesystems the test user owns, for the full-disk test: a tmpfs
# and a loop-mounted ext4 image (no blocks reserved for root, which the
# namespace's root is not), each 64 MiB; mounted again after a reboot
small=/var/lib/strata-test
if ! mountpoint -q "$small/small-tmpfs"; then
  mkdir -p "$small/small-tmpfs"
  mount -t tmpfs -o size=64m,mode=0755 strata-small "$small/small-tmpfs"
fi
if ! mountpoint -q "$small/small-ext4"; then
  mkdir -p "$small/small-ext4"
  [ -f "$small/small-ext4.img" ] || { truncate -s 64M "$small/small-ext4.img" && mkfs.ext4 -q -F -m 0 -b 4096 -I 256 "$small/small-ext4.img"; }
  mount -o loop "$small/small-ext4.img" "$small/small-ext4"
fi
chown "$TEST_USER:" "$small/small-tmpfs" "$small/small-ext4"
chmod 0755 "$small/small-tmpfs" "$small/small-ext4"
