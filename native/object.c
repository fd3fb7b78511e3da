/* Objects into the store: content hashed (verity.h) while it is copied into
 * an unnamed file (O_TMPFILE, so a crash leaves nothing), which is then
 * linked at its digest as objects/ab/cdef…, or dropped when the store has
 * that content. Zero blocks are seeked over: sparse files stay sparse. Not
 * synced: the caller syncs the filesystem once, before publishing what
 * refers to the objects. Content that fits the 1 MiB buffer (most files)
 * is named before anything is written: when the store has it, no file is
 * made at all (a file made and dropped costs a create and a delete, and
 * ext4 without a journal then slows every create for minutes). storeFile
 * copies a file; objectOpen/Write/Finish take content in pieces (a tar's
 * entries); copySparse copies an object out, as sparse. */
#define _GNU_SOURCE
#include "util.h"
#include "verity.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (1 << 20)

struct object {
  struct tree tree;
  char *tmp;   /* where the unnamed file goes, made when first needed; NULL: only hashing */
  int fd;      /* the unnamed file, or -1 */
  off_t end;   /* where the last write ended: a file ending in a hole needs its size set */
  size_t fill; /* bytes in buf, which starts block-aligned at tree.size in the file */
  unsigned char buf[CHUNK];
};

/* tmp: the directory for the unnamed file (copied), or NULL to only hash */
static struct object *object_new(const char *tmp) {
  struct object *o = malloc(sizeof *o);
  if (!o) return NULL;
  memset(o, 0, offsetof(struct object, buf));
  o->fd = -1;
  if (tmp && !(o->tmp = strdup(tmp))) { free(o); return NULL; }
  return o;
}

static void object_free(struct object *o) {
  if (!o) return;
  if (o->fd >= 0) close(o->fd);
  free(o->tmp);
  free(o);
}

static int open_tmp(struct object *o) {
  if (o->fd < 0) o->fd = open(o->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0444);
  return o->fd;
}

/* Writes data at pos (block-aligned), seeking over whole zero blocks. */
static int write_sparse(int fd, const unsigned char *data, size_t len, off_t pos, off_t *end) {
  size_t off = 0;
  while (off < len) {
    size_t n = len - off < BLOCK ? len - off : BLOCK;
    if (is_zero(data + off, n)) { off += n; continue; }
    size_t start = off;
    while (off < len && !is_zero(data + off, n)) {
      off += n;
      n = len - off < BLOCK ? len - off : BLOCK;
    }
    for (size_t done = start; done < off;) {
      ssize_t w = pwrite(fd, data + done, off - done, pos + done);
      if (w < 0) { if (errno == EINTR) continue; return -1; }
      done += w;
    }
    *end = pos + off;
  }
  return 0;
}

/* Hashes what buf holds; last: the content ends there, so a partial block
 * is hashed zero-padded. */
static void hash_buf(struct object *o, int last) {
  size_t whole = o->fill / BLOCK * BLOCK;
  unsigned char h[HASH];
  for (size_t off = 0; off < whole; off += BLOCK) {
    hash_block(o->buf + off, h);
    tree_push(&o->tree, 0, h);
  }
  if (last && o->fill > whole) {
    unsigned char padded[BLOCK] = {0};
    memcpy(padded, o->buf + whole, o->fill - whole);
    hash_block(padded, h);
    tree_push(&o->tree, 0, h);
  }
}

/* Writes what buf holds at pos into the unnamed file (made now if need be). */
static int write_buf(struct object *o, off_t pos) {
  if (!o->tmp) return 0;
  if (open_tmp(o) < 0) return -1;
  return write_sparse(o->fd, o->buf, o->fill, pos, &o->end);
}

/* Hashes and writes a full buffer: the content goes on. */
static int object_flush(struct object *o) {
  hash_buf(o, 0);
  if (write_buf(o, o->tree.size) < 0) return -1;
  o->tree.size += o->fill;
  o->fill = 0;
  return 0;
}

/* Names an unnamed file by its digest; never replaces. 1: linked, 0: the
 * store has that content, -1: errno. */
static int link_object(int fd, const char *objects, const char *hex) {
  char proc[64], path[PATH_MAX];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int dirlen = snprintf(path, sizeof path, "%s/%.2s", objects, hex);
  snprintf(path + dirlen, sizeof path - dirlen, "/%s", hex + 2);
  for (int tries = 0; tries < 2; tries++) {
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) return 1;
    if (errno == EEXIST) return 0;
    if (errno != ENOENT || tries) return -1;
    path[dirlen] = 0; /* objects/ab/ is missing: make it, then again */
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return -1;
    path[dirlen] = '/';
  }
  return -1;
}

/* Ends the content: its digest (and tree.size its size), and (with
 * objects) its name in the store. NULL on success, else the failed call
 * (errno says why). */
static const char *object_finish(struct object *o, const char *objects, char *hex, int *stored) {
  unsigned char digest[HASH];
  int unwritten = o->fd < 0; /* all of it still in buf: it can be named before it is written */
  off_t pos = o->tree.size;  /* where buf's last piece goes in the file */
  hash_buf(o, 1);
  o->tree.size += o->fill;
  tree_finish(&o->tree, digest);
  digest_hex(digest, hex);
  *stored = 0;
  if (!o->tmp || !objects) return NULL;
  if (unwritten) {
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%.2s/%s", objects, hex, hex + 2);
    if (lstat(path, &st) == 0) return NULL; /* the store has it: nothing to write */
  }
  if (write_buf(o, pos) < 0) return "pwrite";
  if (o->end < (off_t)o->tree.size && ftruncate(o->fd, o->tree.size) < 0) return "ftruncate";
  if ((*stored = link_object(o->fd, objects, hex)) < 0) return "linkat";
  return NULL;
}

/* [digestHex, size, stored] */
static napi_value result(napi_env env, const char *hex, uint64_t size, int stored) {
  napi_value r, v;
  napi_create_array_with_length(env, 3, &r);
  napi_create_string_latin1(env, hex, 2 * HASH, &v);
  napi_set_element(env, r, 0, v);
  napi_create_double(env, (double)size, &v);
  napi_set_element(env, r, 1, v);
  napi_get_boolean(env, stored == 1, &v);
  napi_set_element(env, r, 2, v);
  return r;
}


/* storeFile(src, tmpDir: string | null, objectsDir: string | null) ->
 * [digestHex, size, stored]: reads src once; without tmpDir and objectsDir,
 * only its digest. */
napi_value js_store_file(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  get_args(env, info, argv, 3);
  napi_valuetype t1, t2;
  CHECK(napi_typeof(env, argv[1], &t1));
  CHECK(napi_typeof(env, argv[2], &t2));
  bool store = t1 == napi_string && t2 == napi_string;
  char *src = get_path(env, argv[0]);
  if (!src) return NULL;
  char *tmp = store ? get_string(env, argv[1]) : NULL;
  char *objects = store ? get_string(env, argv[2]) : NULL;
  const char *failed = NULL;
  const char *where = src; /* what an error names: the source while reading it, the store while writing */
  char hex[2 * HASH + 1];
  int stored = 0, in = -1;
  uint64_t size = 0;
  struct object *o = object_new(tmp);
  if (!o) { errno = ENOMEM; failed = "malloc"; goto done; }
  if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) { failed = "open"; goto done; }
  for (;;) {
    ssize_t n = read(in, o->buf + o->fill, CHUNK - o->fill);
    if (n < 0) { if (errno == EINTR) continue; failed = "read"; goto done; }
    if (n == 0) break;
    o->fill += n;
    if (o->fill == CHUNK && object_flush(o) < 0) { failed = "pwrite"; where = tmp; goto done; }
  }
  failed = object_finish(o, objects, hex, &stored);
  if (failed) where = strcmp(failed, "linkat") == 0 ? objects : tmp;
  size = o->tree.size;
done:;
  int e = errno;
  if (in >= 0) close(in);
  object_free(o);
  napi_value r = failed ? throw_errno_path(env, e, failed, where) : result(env, hex, size, stored);
  free(src); free(tmp); free(objects);
  return r;
}

/* A streaming writer, as JS holds it: the object itself (1 MiB and more) is
 * freed as soon as it is finished or aborted, not when the GC gets to the box. */
struct box { struct object *o; };

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  struct box *b = data;
  object_free(b->o); /* a writer dropped unfinished: its unnamed file goes */
  free(b);
}

static struct box *get_box(napi_env env, napi_value v) {
  struct box *b = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, (void **)&b) != napi_ok || !b || !b->o) {
    napi_throw_error(env, NULL, "not an open object writer");
    return NULL;
  }
  return b;
}

/* objectOpen(tmpDir) -> writer: an unnamed file to stream content into */
napi_value js_object_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], ext;
  get_args(env, info, argv, 1);
  char *tmp = get_string(env, argv[0]);
  if (!tmp) return NULL;
  struct box *b = malloc(sizeof *b);
  struct object *o = b ? object_new(tmp) : NULL;
  free(tmp);
  if (!o) { free(b); return throw_errno(env, ENOMEM, "malloc"); }
  b->o = o;
  if (napi_create_external(env, b, finalize, NULL, &ext) != napi_ok) { object_free(o); free(b); return NULL; }
  return ext;
}

/* objectWrite(writer, data: Buffer): appends (copied) */
napi_value js_object_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  struct box *b = get_box(env, argv[0]);
  if (!b) return NULL;
  struct object *o = b->o;
  unsigned char *data;
  size_t len;
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&data, &len));
  while (len > 0) {
    size_t n = len < CHUNK - o->fill ? len : CHUNK - o->fill;
    memcpy(o->buf + o->fill, data, n);
    o->fill += n;
    data += n;
    len -= n;
    if (o->fill == CHUNK && object_flush(o) < 0) return throw_errno_path(env, errno, "pwrite", o->tmp);
  }
  return NULL;
}

/* objectFinish(writer, objectsDir) -> [digestHex, size, stored]; the writer is closed either way */
napi_value js_object_finish(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  struct box *b = get_box(env, argv[0]);
  if (!b) return NULL;
  char *objects = get_string(env, argv[1]);
  if (!objects) return NULL;
  char hex[2 * HASH + 1];
  int stored;
  const char *failed = object_finish(b->o, objects, hex, &stored);
  uint64_t size = b->o->tree.size;
  int e = errno;
  napi_value r = failed ? throw_errno_path(env, e, failed, strcmp(failed, "linkat") == 0 ? objects : b->o->tmp) : result(env, hex, size, stored);
  free(objects);
  object_free(b->o);
  b->o = NULL;
  return r;
}

/* objectAbort(writer): drops the unnamed file (closing it is all it takes) */
napi_value js_object_abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, argv, 1);
  struct box *b = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&b) == napi_ok && b) {
    object_free(b->o);
    b->o = NULL;
  }
  return NULL;
}

/* copySparse(src, dst): copies src's content into a new file dst (0600,
 * never replacing), whole zero blocks left as holes: an object materialized
 * stays as sparse as it is in the store. */
napi_value js_copy_sparse(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  char *src = get_path(env, argv[0]);
  if (!src) return NULL;
  char *dst = get_path(env, argv[1]);
  if (!dst) { free(src); return NULL; }
  const char *failed = NULL;
  int in = -1, out = -1;
  off_t pos = 0, end = 0;
  unsigned char *buf = malloc(CHUNK);
  if (!buf) { errno = ENOMEM; failed = "malloc"; goto done; }
  if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0) { failed = "open"; goto done; }
  if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) { failed = "open"; goto done; }
  for (;;) {
    ssize_t n = read(in, buf, CHUNK);
    if (n < 0) { if (errno == EINTR) continue; failed = "read"; goto done; }
    if (n == 0) break;
    if (write_sparse(out, buf, n, pos, &end) < 0) { failed = "pwrite"; goto done; }
    pos += n;
  }
  if (end < pos && ftruncate(out, pos) < 0) failed = "ftruncate";
done:;
  int e = errno;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  free(buf); free(src); free(dst);
  if (failed) return throw_errno(env, e, failed);
  return NULL;
}
