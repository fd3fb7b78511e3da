/* The walk of a directory import, one call per directory: each entry's name,
 * lstat, user.* xattrs and a symlink's target. Through node's fs the walk
 * made three or four calls per entry and a BigIntStats each. */
#define _GNU_SOURCE
#include "util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

/* path's user.* xattrs as [name, Buffer][] in the order listed, or null when
 * it has none. NULL: thrown. */
static napi_value user_xattrs(napi_env env, const char *path) {
  char small[1024], *names = NULL;
  ssize_t got = list_xattr_names(path, small, sizeof small, &names);
  if (got < 0) return throw_errno_path(env, errno, "llistxattr", path);
  napi_value list = NULL;
  uint32_t n = 0;
  for (ssize_t off = 0; off < got; off += strlen(names + off) + 1) {
    const char *name = names + off;
    if (strncmp(name, "user.", 5) != 0) continue;
    void *data;
    napi_value value, pair, s;
    ssize_t size, read;
    do { /* again if it grew between the two calls */
      if ((size = lgetxattr(path, name, NULL, 0)) < 0) break;
      if (napi_create_buffer(env, size, &data, &value) != napi_ok) goto failed;
      read = size ? lgetxattr(path, name, data, size) : 0;
    } while (read < 0 && errno == ERANGE);
    if (size < 0 && errno == ENODATA) continue; /* removed meanwhile */
    if (size < 0 || read < 0) goto failed;
    if (read != size) napi_create_buffer_copy(env, read, data, NULL, &value); /* shrank meanwhile */
    if (!list) napi_create_array(env, &list);
    napi_create_array_with_length(env, 2, &pair);
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, pair, 0, s);
    napi_set_element(env, pair, 1, value);
    napi_set_element(env, list, n++, pair);
  }
  if (names != small) free(names);
  if (!list) napi_get_null(env, &list);
  return list;
failed:;
  int e = errno;
  if (names != small) free(names);
  return throw_errno_path(env, e, "lgetxattr", path);
}

/* A symlink's target as a Buffer (size: what lstat said its length is; path: for errors).
 * NULL: thrown. */
static napi_value link_target(napi_env env, int dirfd, const char *name, const char *path, size_t size) {
  for (size_t cap = size + 1;; cap *= 2) {
    char *buf = malloc(cap);
    ssize_t n = buf ? readlinkat(dirfd, name, buf, cap) : -1;
    if (n < 0) { int e = buf ? errno : ENOMEM; free(buf); return throw_errno_path(env, e, "readlink", path); }
    if ((size_t)n < cap) { /* else cut short: it was retargeted since, longer */
      napi_value v;
      napi_create_buffer_copy(env, n, buf, NULL, &v);
      free(buf);
      return v;
    }
    free(buf);
  }
}

enum { NAME, MODE, UID, GID, SIZE, NLINK, RDEV, ATIME, MTIME, IDENT, XATTRS, TARGET, FIELDS };

/* One entry as scanDir gives it: name (the entry's name in dirfd), path
 * (the same, whole, for the xattr calls, which have no *at form before Linux
 * 6.13). NULL: thrown. */
static napi_value entry(napi_env env, int dirfd, const char *name, const char *path) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return throw_errno_path(env, errno, "lstat", path);
  napi_value e, v[FIELDS];
  napi_create_buffer_copy(env, strlen(name), name, NULL, &v[NAME]);
  napi_create_uint32(env, st.st_mode, &v[MODE]);
  napi_create_uint32(env, st.st_uid, &v[UID]);
  napi_create_uint32(env, st.st_gid, &v[GID]);
  napi_create_double(env, (double)st.st_size, &v[SIZE]);
  napi_create_double(env, (double)st.st_nlink, &v[NLINK]);
  napi_create_double(env, (double)st.st_rdev, &v[RDEV]);
  napi_create_bigint_int64(env, ns_of(st.st_atim), &v[ATIME]);
  napi_create_bigint_int64(env, ns_of(st.st_mtim), &v[MTIME]);
  char ident[256];
  int len = snprintf(ident, sizeof ident, "%" PRIu64 ":%" PRIu64 " %u %u:%u %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64,
                     (uint64_t)st.st_dev, (uint64_t)st.st_ino, st.st_mode, st.st_uid, st.st_gid, (int64_t)st.st_size,
                     (uint64_t)st.st_nlink, (uint64_t)st.st_rdev, ns_of(st.st_mtim), ns_of(st.st_ctim));
  napi_create_string_latin1(env, ident, len, &v[IDENT]);
  /* user.* xattrs are only allowed on files and directories */
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) napi_get_null(env, &v[XATTRS]);
  else if (!(v[XATTRS] = user_xattrs(env, path))) return NULL;
  if (!S_ISLNK(st.st_mode)) napi_get_null(env, &v[TARGET]);
  else if (!(v[TARGET] = link_target(env, dirfd, name, path, st.st_size))) return NULL;
  napi_create_array_with_length(env, FIELDS, &e);
  for (int i = 0; i < FIELDS; i++) napi_set_element(env, e, i, v[i]);
  return e;
}

/* scanDir(dir) -> [name: Buffer, mode, uid, gid, size, nlink, rdev,
 * atimeNs: bigint, mtimeNs: bigint, ident: string, xattrs: [name, Buffer][]
 * | null, target: Buffer | null][], in the directory's own order, without
 * . and ... ident is what lstat says as text, "dev:ino mode uid:gid size
 * nlink rdev mtimeNs ctimeNs": a fingerprint line but for the path; its
 * first word names the inode. xattrs: user.* only, read of files and
 * directories alone (nothing else can have them). Errors carry the failed
 * call and, in path, what it was called on. */
napi_value js_scan_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, argv, 1);
  char *dir = get_path(env, argv[0]);
  if (!dir) return NULL;
  size_t dirlen = strlen(dir);
  DIR *d = opendir(dir);
  if (!d) { int e = errno; napi_value r = throw_errno_path(env, e, "scandir", dir); free(dir); return r; }
  napi_value entries;
  napi_create_array(env, &entries);
  uint32_t count = 0;
  char *path = NULL; /* dir/name */
  size_t pathcap = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      if (errno) throw_errno_path(env, errno, "scandir", dir);
      break;
    }
    const char *name = de->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t namelen = strlen(name);
    if (dirlen + namelen + 2 > pathcap) {
      pathcap = (dirlen + namelen + 2) * 2;
      char *p = realloc(path, pathcap);
      if (!p) { throw_errno(env, ENOMEM, "malloc"); break; }
      path = p;
    }
    memcpy(path, dir, dirlen);
    path[dirlen] = '/';
    memcpy(path + dirlen + 1, name, namelen + 1);
    napi_value e = entry(env, dirfd(d), name, path);
    if (!e) break;
    napi_set_element(env, entries, count++, e);
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  closedir(d);
  free(path);
  free(dir);
  return pending ? NULL : entries;
}

/* scanEntry(path) -> the entry at path itself, as scanDir gives its
 * directory's entries (name: path, as given): the root of a walk. */
napi_value js_scan_entry(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, argv, 1);
  char *path = get_path(env, argv[0]);
  if (!path) return NULL;
  napi_value e = entry(env, AT_FDCWD, path, path);
  free(path);
  return e;
}
