/* A new regular file with its size, xattrs, owner, mode and times, through
 * one descriptor: the stubs an import writes by the thousand. By path, each
 * of those calls would walk the (possibly deep) path again. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* createFile(path, size, uid, gid, mode, atimeNs: bigint, mtimeNs: bigint,
 * xattrs: [name, value: Buffer][]) -> squashed: bool. Never replaces (EEXIST)
 * nor follows a symlink. An owner outside the namespace's mapping (EINVAL) is
 * squashed to 0:0, and the result says so. Mode last but times: chown clears
 * setuid bits. On error the half-made file stays: the caller's staging
 * directory is thrown away whole. */
napi_value js_create_file(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  get_args(env, info, argv, 8);
  int64_t size;
  uint32_t uid, gid, mode, nx;
  struct timespec ts[2];
  CHECK(napi_get_value_int64(env, argv[1], &size));
  CHECK(napi_get_value_uint32(env, argv[2], &uid));
  CHECK(napi_get_value_uint32(env, argv[3], &gid));
  CHECK(napi_get_value_uint32(env, argv[4], &mode));
  if (!get_bigint_ns(env, argv[5], &ts[0]) || !get_bigint_ns(env, argv[6], &ts[1])) return NULL;
  CHECK(napi_get_array_length(env, argv[7], &nx));

  char *path = get_path(env, argv[0]);
  if (!path) return NULL;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int e = errno;
  if (fd < 0) { napi_value r = throw_errno_path(env, e, "open", path); free(path); return r; }

  const char *failed = NULL;
  bool squashed = false;
  if (size > 0 && ftruncate(fd, size) < 0) failed = "ftruncate";
  for (uint32_t i = 0; !failed && i < nx; i++) {
    napi_value pair, n, v;
    void *data; size_t len;
    if (napi_get_element(env, argv[7], i, &pair) != napi_ok || napi_get_element(env, pair, 0, &n) != napi_ok ||
        napi_get_element(env, pair, 1, &v) != napi_ok || napi_get_buffer_info(env, v, &data, &len) != napi_ok) {
      close(fd); free(path);
      napi_throw_type_error(env, NULL, "xattrs must be [name, Buffer] pairs");
      return NULL;
    }
    char *name = get_string(env, n);
    if (!name) { close(fd); free(path); return NULL; }
    if (fsetxattr(fd, name, data, len, 0) < 0) failed = "fsetxattr";
    free(name);
  }
  if (!failed && fchown(fd, uid, gid) < 0) {
    if (errno != EINVAL) failed = "fchown";
    else if (fchown(fd, 0, 0) < 0) failed = "fchown";
    else squashed = true;
  }
  if (!failed && fchmod(fd, mode & 07777) < 0) failed = "fchmod";
  if (!failed && futimens(fd, ts) < 0) failed = "futimens";
  e = errno;
  close(fd);
  napi_value thrown = failed ? throw_errno_path(env, e, failed, path) : NULL;
  free(path);
  if (failed) return thrown;
  napi_value result;
  napi_get_boolean(env, squashed, &result);
  return result;
}
