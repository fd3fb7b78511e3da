#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for strata's tests (run as root): the
# packages strata and its tests use, an unprivileged test user with
# subordinate id ranges, and /dev/fuse at its usual mode.
set -euo pipefail
TEST_USER=${STRATA_TEST_USER:-strata-test}
packages=(uidmap bubblewrap passt gcc libc6-dev fuse-overlayfs fsverity attr util-linux bash bash-completion zsh fish tmux busybox-static umoci skopeo zstd iproute2 docker-registry apache2-utils btrfs-progs)

# one dpkg-query for all (a dpkg -s each took seconds on a loaded machine)
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null | awk '$2 == "installed" {print $1}' || true)
missing=()
for p in "${packages[@]}"; do grep -qxF "$p" <<<"$installed" || missing+=("$p"); done
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
# pasta (--net private) opens /dev/net/tun; 0666 is its usual mode too
[ -e /dev/net/tun ] && chmod 0666 /dev/net/tun

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

# filesystems a user's STRATA_HOME may sit on, each mounted once, owned by the
# test user: ramfs (no user xattrs), tmpfs, and an overlayfs (a container's
# root filesystem); test/environments.test.js puts stores on them
envs=/var/lib/strata-test/fs
mkdir -p "$envs"/ramfs "$envs"/tmpfs "$envs"/overlay "$envs"/.overlay/lower "$envs"/.overlay/upper "$envs"/.overlay/work
mountpoint -q "$envs/ramfs" || mount -t ramfs strata-ramfs "$envs/ramfs"
mountpoint -q "$envs/tmpfs" || mount -t tmpfs -o size=512m strata-tmpfs "$envs/tmpfs"
mountpoint -q "$envs/overlay" || mount -t overlay -o "lowerdir=$envs/.overlay/lower,upperdir=$envs/.overlay/upper,workdir=$envs/.overlay/work" strata-overlay "$envs/overlay"
chown "$TEST_USER:" "$envs"/ramfs "$envs"/tmpfs "$envs"/overlay
chmod 0755 /var/lib/strata-test "$envs"

# a /tmp where another user made the test user's runtime directory first
# (/tmp/strata-UID, world-writable, with a probe answer of theirs): strata must
# refuse it. Tests bind it over /tmp inside bubblewrap.
OTHER_USER=strata-other
id "$OTHER_USER" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$OTHER_USER"
planted=/var/lib/strata-test/planted-tmp
test_uid=$(id -u "$TEST_USER")
mkdir -p "$planted/strata-$test_uid/strata"
chmod 1777 "$planted"
echo '{"entries":{}}' > "$planted/strata-$test_uid/strata/probe.json"
chown -R "$OTHER_USER:" "$planted/strata-$test_uid"
chmod 0777 "$planted/strata-$test_uid" "$planted/strata-$test_uid/strata"

# a tree whose owners lie outside the test user's id mapping, as /opt and /usr
# trees are root's: imports must count and name every owner they can't keep
owners=/var/lib/strata-test/owners
if [ ! -e "$owners/dir/big" ]; then
  mkdir -p "$owners/dir"
  echo mine > "$owners/mine"
  echo "root's group" > "$owners/rootgroup"
  echo "root's" > "$owners/rootfile"
  head -c 1000 /dev/urandom > "$owners/dir/big"
fi
chown root:root "$owners/dir" "$owners/dir/big" "$owners/rootfile"
chown "$TEST_USER:" "$owners" "$owners/mine"
chown "$TEST_USER:root" "$owners/rootgroup"
chmod 0755 "$owners" "$owners/dir" && chmod 0644 "$owners/mine" "$owners/rootgroup" "$owners/rootfile" "$owners/dir/big"

# a small ext4 filesystem with 256-byte inodes (mkfs's default) for the test
# user, loop-mounted: format 2's stubs must keep their xattrs in the inode
# there (st_blocks 0), and only root can mount ext4. Where loop devices or
# mounting aren't allowed (a container), the tests that need it skip, saying so.
ext4=/var/lib/strata-test/ext4
if ! mountpoint -q "$ext4" 2>/dev/null; then
  mkdir -p "$ext4"
  [ -f /var/lib/strata-test/ext4.img ] || { truncate -s 256M /var/lib/strata-test/ext4.img && mkfs.ext4 -q -F -b 4096 -I 256 -O verity /var/lib/strata-test/ext4.img; } || true
  mount -o loop /var/lib/strata-test/ext4.img "$ext4" 2>/dev/null || echo "provision: can't loop-mount an ext4 image here; the ext4 tests will skip"
fi
if mountpoint -q "$ext4" 2>/dev/null; then chown "$TEST_USER:" "$ext4" && chmod 0755 "$ext4"; fi
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

# loop-mounted filesystems a store may meet, each made once (and mounted again
# after a reboot), owned by the test user; test/environments.test.js puts
# stores on them. loop_fs NAME SIZE MKFS… mounts NAME.img at fs/NAME.
loop_fs() {
  local name=$1 size=$2 dir=$envs/$1 img=/var/lib/strata-test/$1.img
  shift 2
  if ! mountpoint -q "$dir"; then
    mkdir -p "$dir"
    [ -f "$img" ] || { truncate -s "$size" "$img" && "$@" "$img" >/dev/null; } || { rm -f "$img"; echo "provision: can't make $img here"; return 0; }
    mount -o loop "$img" "$dir" || { echo "provision: can't loop-mount $img here"; return 0; }
  fi
  chown "$TEST_USER:" "$dir" && chmod 0755 "$dir"
}
# ext4 without d_type (-O ^filetype): listings give every entry DT_UNKNOWN, and
# overlayfs (which mounts it anyway) can't see whiteouts in an upper there
loop_fs no-dtype 128M mkfs.ext4 -q -F -O ^filetype
# btrfs with quotas on, a subvolume limited to 16 MiB for the test user: a
# write past it fails with EDQUOT. (ext4's quota feature needs a kernel built
# with CONFIG_QFMT_V2, which this one isn't; btrfs qgroups need nothing more.)
loop_fs quota 256M mkfs.btrfs -q -f
if mountpoint -q "$envs/quota"; then
  btrfs quota enable "$envs/quota"
  [ -d "$envs/quota/limited" ] || btrfs -q subvolume create "$envs/quota/limited"
  btrfs qgroup limit 16M "$envs/quota/limited"
  chown "$TEST_USER:" "$envs/quota/limited"
fi
# a disk that fails: an ext4 whose loop device is cut to half its size under
# it (no device-mapper in every kernel, this one's included), mounted
# read-only. tree/good sits in the first half and reads; tree/bad's blocks lie
# past the cut, so reading it is an I/O error (EIO) from the block layer,
# every time (a failed read caches nothing). Made again whenever not mounted.
failing=$envs/failing
if ! mountpoint -q "$failing"; then
  img=/var/lib/strata-test/failing.img
  rm -f "$img" && truncate -s 64M "$img"
  mkfs.ext4 -q -F -m 0 -b 4096 -E lazy_itable_init=0,lazy_journal_init=0 "$img"
  dev=$(losetup -f --show "$img")
  mkdir -p "$failing" && mount "$dev" "$failing"
  mkdir "$failing/tree" && echo "a good block" > "$failing/tree/good" && sync -f "$failing/tree/good"
  fallocate -l 40M "$failing/filler"            # what comes next lands past 40 MiB
  head -c 1M /dev/urandom > "$failing/tree/bad" && rm "$failing/filler"
  chmod -R a+rX "$failing/tree"
  # mounted again read-only: nothing of tree/bad stays cached, and nothing is written past the cut
  umount "$failing" && mount -o ro "$dev" "$failing"
  truncate -s 32M "$img" && losetup -c "$dev"
fi
