/* Syscalls node's fs lacks, taking byte paths (Buffer) so names that are not
 * UTF-8 stay reachable: xattrs without following symlinks, utimensat with
 * nanoseconds, mknod for 0/0 whiteouts, syncfs, flock, and a reaper for a
 * namespace's pid 1 (node has no waitpid(-1)), and renameat2's
 * RENAME_EXCHANGE (a stack's upper swapped in one atomic step). Synchronous:
 * each is one syscall. Errors are thrown like node's own: code, errno,
 * syscall, and the path where there is one. Also
 * exported here: hashBlocks (verity.c), storeFile and objectOpen/Write/
 * Finish/Abort and copySparse (object.c), createFile (create.c), scanDir
 * and scanEntry (scan.c). */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* getxattr(path, name) -> Buffer | null (null when the attribute is absent) */
static napi_value js_getxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  char *name = get_string(env, argv[1]); if (!name) { free(path); return NULL; }
  napi_value result = NULL;
  for (;;) {
    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) {
      if (errno == ENODATA) napi_get_null(env, &result); else throw_errno(env, errno, "lgetxattr");
      break;
    }
    void *data;
    napi_value buf;
    if (napi_create_buffer(env, size, &data, &buf) != napi_ok) break;
    ssize_t got = size ? lgetxattr(path, name, data, size) : 0;
    if (got < 0 && errno == ERANGE) continue; /* grew between calls */
    if (got < 0) { if (errno == ENODATA) napi_get_null(env, &result); else throw_errno(env, errno, "lgetxattr"); break; }
    if (got != size) napi_create_buffer_copy(env, got, data, NULL, &buf);
    result = buf;
    break;
  }
  free(path); free(name);
  return result;
}

/* listxattr(path) -> string[] */
static napi_value js_listxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, argv, 1);
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  char small[1024], *names;
  ssize_t got = list_xattr_names(path, small, sizeof small, &names);
  int e = errno;
  free(path);
  napi_value result = NULL;
  if (got < 0) throw_errno(env, e, "llistxattr");
  else {
    napi_create_array(env, &result);
    uint32_t i = 0;
    for (ssize_t off = 0; off < got;) {
      size_t n = strnlen(names + off, got - off);
      napi_value s;
      napi_create_string_utf8(env, names + off, n, &s);
      napi_set_element(env, result, i++, s);
      off += n + 1;
    }
  }
  if (names != small) free(names);
  return result;
}

/* setxattr(path, name, value: Buffer) */
static napi_value js_setxattr(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, argv, 3);
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  char *name = get_string(env, argv[1]); if (!name) { free(path); return NULL; }
  void *data = NULL; size_t len = 0;
  bool is_buffer = false;
  napi_is_buffer(env, argv[2], &is_buffer);
  if (!is_buffer) { free(path); free(name); napi_throw_type_error(env, NULL, "value must be a Buffer"); return NULL; }
  napi_get_buffer_info(env, argv[2], &data, &len);
  int rc = lsetxattr(path, name, data, len, 0);
  int e = errno;
  napi_value r = rc < 0 ? throw_errno_path(env, e, "lsetxattr", path) : NULL;
  free(path); free(name);
  if (rc < 0) return r;
  return NULL;
}

/* removexattr(path, name) */
static napi_value js_removexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  char *name = get_string(env, argv[1]); if (!name) { free(path); return NULL; }
  int rc = lremovexattr(path, name);
  int e = errno;
  napi_value r = rc < 0 ? throw_errno_path(env, e, "lremovexattr", path) : NULL;
  free(path); free(name);
  if (rc < 0) return r;
  return NULL;
}

/* utimens(path, atimeNs: bigint, mtimeNs: bigint): never follows a symlink */
static napi_value js_utimens(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, argv, 3);
  struct timespec ts[2];
  if (!get_bigint_ns(env, argv[1], &ts[0]) || !get_bigint_ns(env, argv[2], &ts[1])) return NULL;
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  int rc = utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
  int e = errno;
  napi_value r = rc < 0 ? throw_errno_path(env, e, "utimensat", path) : NULL;
  free(path);
  if (rc < 0) return r;
  return NULL;
}

/* mknod(path, mode, major, minor) */
static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  get_args(env, info, argv, 4);
  uint32_t mode, maj, min;
  CHECK(napi_get_value_uint32(env, argv[1], &mode));
  CHECK(napi_get_value_uint32(env, argv[2], &maj));
  CHECK(napi_get_value_uint32(env, argv[3], &min));
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  int rc = mknod(path, mode, makedev(maj, min));
  int e = errno;
  napi_value r = rc < 0 ? throw_errno_path(env, e, "mknod", path) : NULL;
  free(path);
  if (rc < 0) return r;
  return NULL;
}

/* syncfs(path): flush the whole filesystem holding path, once */
static napi_value js_syncfs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, argv, 1);
  char *path = get_path(env, argv[0]); if (!path) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int e = errno;
  napi_value r = fd < 0 ? throw_errno_path(env, e, "open", path) : NULL;
  free(path);
  if (fd < 0) return r;
  int rc = syncfs(fd);
  e = errno;
  close(fd);
  if (rc < 0) return throw_errno(env, e, "syncfs");
  return NULL;
}

/* flock(fd, exclusive, wait) -> bool: false when it would block and wait is false */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, argv, 3);
  int32_t fd; bool exclusive, wait;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_bool(env, argv[1], &exclusive));
  CHECK(napi_get_value_bool(env, argv[2], &wait));
  int rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
  napi_value result;
  if (rc < 0 && errno == EWOULDBLOCK) { napi_get_boolean(env, false, &result); return result; }
  if (rc < 0) return throw_errno(env, errno, "flock");
  napi_get_boolean(env, true, &result);
  return result;
}

/* reap() -> count: waits for every child that has ended, without blocking. For
 * a pid 1 that inherits orphans; only where nothing else waits for children. */
static napi_value js_reap(napi_env env, napi_callback_info info) {
  (void)info;
  int32_t n = 0;
  int status;
  while (waitpid(-1, &status, WNOHANG) > 0) n++;
  napi_value result;
  napi_create_int32(env, n, &result);
  return result;
}

/* exchange(a, b): swaps two existing paths in one atomic step
 * (renameat2 RENAME_EXCHANGE): a crash leaves either both as they were or
 * both swapped, never one of them missing. Errors name a. */
static napi_value js_exchange(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  char *a = get_path(env, argv[0]); if (!a) return NULL;
  char *b = get_path(env, argv[1]); if (!b) { free(a); return NULL; }
  // the raw call: musl has no renameat2 wrapper
  int rc = syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
  int e = errno;
  napi_value r = rc < 0 ? throw_errno_path(env, e, "renameat2", a) : NULL;
  free(a); free(b);
  return r;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"getxattr", NULL, js_getxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"listxattr", NULL, js_listxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"removexattr", NULL, js_removexattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"utimens", NULL, js_utimens, NULL, NULL, NULL, napi_enumerable, NULL},
    {"mknod", NULL, js_mknod, NULL, NULL, NULL, napi_enumerable, NULL},
    {"syncfs", NULL, js_syncfs, NULL, NULL, NULL, napi_enumerable, NULL},
    {"flock", NULL, js_flock, NULL, NULL, NULL, napi_enumerable, NULL},
    {"exchange", NULL, js_exchange, NULL, NULL, NULL, napi_enumerable, NULL},
    {"reap", NULL, js_reap, NULL, NULL, NULL, napi_enumerable, NULL},
    {"hashBlocks", NULL, js_hash_blocks, NULL, NULL, NULL, napi_enumerable, NULL},
    {"storeFile", NULL, js_store_file, NULL, NULL, NULL, napi_enumerable, NULL},
    {"objectOpen", NULL, js_object_open, NULL, NULL, NULL, napi_enumerable, NULL},
    {"objectWrite", NULL, js_object_write, NULL, NULL, NULL, napi_enumerable, NULL},
    {"objectFinish", NULL, js_object_finish, NULL, NULL, NULL, napi_enumerable, NULL},
    {"objectAbort", NULL, js_object_abort, NULL, NULL, NULL, napi_enumerable, NULL},
    {"copySparse", NULL, js_copy_sparse, NULL, NULL, NULL, napi_enumerable, NULL},
    {"createFile", NULL, js_create_file, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scanDir", NULL, js_scan_dir, NULL, NULL, NULL, napi_enumerable, NULL},
    {"scanEntry", NULL, js_scan_entry, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
