#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

/* Throws an Error like node's own for errno err (code, errno, syscall); returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall);
/* The same, naming the path the call was made on (in the message, and as path). */
napi_value throw_errno_path(napi_env env, int err, const char *syscall, const char *path);
/* llistxattr(path) into small, or into *names (malloc'd, when small is too
 * small; free it when it isn't small): the length, or -1 and errno. */
ssize_t list_xattr_names(const char *path, char *small, size_t smallsize, char **names);
/* A path from a Buffer (any bytes) or a string, NUL-terminated; free() it. NULL: thrown. */
char *get_path(napi_env env, napi_value v);
/* A UTF-8 string, NUL-terminated; free() it. NULL: thrown. */
char *get_string(napi_env env, napi_value v);
size_t get_args(napi_env env, napi_callback_info info, napi_value *argv, size_t want);
bool get_bigint_ns(napi_env env, napi_value v, struct timespec *ts);


/* Defined beside their concern (verity.c, object.c, create.c, scan.c), exported by sys.c. */
napi_value js_hash_blocks(napi_env env, napi_callback_info info);
napi_value js_store_file(napi_env env, napi_callback_info info);
napi_value js_object_open(napi_env env, napi_callback_info info);
napi_value js_object_write(napi_env env, napi_callback_info info);
napi_value js_object_finish(napi_env env, napi_callback_info info);
napi_value js_object_alias(napi_env env, napi_callback_info info);
napi_value js_object_abort(napi_env env, napi_callback_info info);
napi_value js_copy_sparse(napi_env env, napi_callback_info info);
napi_value js_create_file(napi_env env, napi_callback_info info);
napi_value js_scan_dir(napi_env env, napi_callback_info info);
napi_value js_scan_entry(napi_env env, napi_callback_info info);

#endif
