/* What every native function needs: errors thrown like node's own (code,
 * errno, syscall), paths from Buffers (any bytes) or strings, arguments. */
#define _GNU_SOURCE
#include "util.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

napi_value throw_errno(napi_env env, int err, const char *syscall) { return throw_errno_path(env, err, syscall, NULL); }

/* As node's own: "ENOENT: no such file or directory, lstat '/a/b'", and path as a Buffer (any bytes). */
napi_value throw_errno_path(napi_env env, int err, const char *syscall, const char *path) {
  const char *name = strerrorname_np(err);
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: %s", name ? name : "EUNKNOWN", strerror(err));
  if (path && n < (int)sizeof msg) snprintf(msg + n, sizeof msg - n, ", %s '%s'", syscall, path);
  napi_value code, message, error, num, sys, p;
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  if (path) {
    napi_create_buffer_copy(env, strlen(path), path, NULL, &p);
    napi_set_named_property(env, error, "path", p);
  }
  napi_throw(env, error);
  return NULL;
}

ssize_t list_xattr_names(const char *path, char *small, size_t smallsize, char **names) {
  /* most files have few xattrs or none: one call into a small buffer, and
   * only when that is too small, ask the size */
  *names = small;
  ssize_t got = llistxattr(path, small, smallsize);
  while (got < 0 && errno == ERANGE) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size < 0) break;
    if (*names != small) free(*names);
    if (!(*names = malloc(size ? size : 1))) { *names = small; errno = ENOMEM; return -1; }
    got = llistxattr(path, *names, size);
  }
  if (got < 0 && *names != small) {
    int e = errno;
    free(*names);
    *names = small;
    errno = e;
  }
  return got;
}

/* A string's UTF-8 bytes, NUL-terminated; free() it. NULL: thrown (what). */
static char *utf8(napi_env env, napi_value v, const char *what) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

/* A path from a Buffer (any bytes) or a string, NUL-terminated; free() it. */
char *get_path(napi_env env, napi_value v) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (is_buffer) {
    void *data; size_t len;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return NULL;
    char *p = malloc(len + 1);
    memcpy(p, data, len); p[len] = 0;
    return p;
  }
  return utf8(env, v, "path must be a Buffer or a string");
}

char *get_string(napi_env env, napi_value v) { return utf8(env, v, "expected a string"); }

size_t get_args(napi_env env, napi_callback_info info, napi_value *argv, size_t want) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc;
}

bool get_bigint_ns(napi_env env, napi_value v, struct timespec *ts) {
  int64_t ns; bool lossless;
  if (napi_get_value_bigint_int64(env, v, &ns, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "times must be bigint nanoseconds");
    return false;
  }
  ts->tv_sec = ns / 1000000000LL;
  ts->tv_nsec = ns % 1000000000LL;
  if (ts->tv_nsec < 0) { ts->tv_nsec += 1000000000LL; ts->tv_sec -= 1; }
  return true;
}
