/* fs-verity SHA-256 digests in C, through node's own OpenSSL (SHA-NI where
 * the CPU has it): hashing is most of an import's CPU. hashBlocks serves the
 * streaming hasher in digest.ts (tar entries arrive in pieces); storeFile
 * reads a file once, hashing it while it copies it into the object store. */
#define _GNU_SOURCE
#include "util.h"
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co: no EVP fetch per 4 KiB */
#include <openssl/sha.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK 4096
#define HASH SHA256_DIGEST_LENGTH
#define LEVELS 12 /* 4 KiB * 128^11 is beyond any file size */
#define CHUNK (1 << 20)

static const unsigned char zero_block[BLOCK];
static unsigned char zero_hash[HASH];
static pthread_once_t zero_hash_once = PTHREAD_ONCE_INIT;
static void init_zero_hash(void) { SHA256(zero_block, BLOCK, zero_hash); }

static int is_zero(const unsigned char *p, size_t n) { return n == BLOCK && memcmp(p, zero_block, BLOCK) == 0; }

static void sha256(const unsigned char *p, size_t n, unsigned char *out) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, p, n);
  SHA256_Final(out, &c);
}

/* One data block's hash; zero blocks (holes) are common and a constant. */
static void hash_block(const unsigned char *b, unsigned char *out) {
  pthread_once(&zero_hash_once, init_zero_hash); /* worker threads share it */
  if (is_zero(b, BLOCK)) memcpy(out, zero_hash, HASH);
  else sha256(b, BLOCK, out);
}

/* hashBlocks(data: Buffer, out: Buffer): out[32*i..] = SHA-256 of data's
 * block i. data's length is a multiple of 4096; out holds 32 per block. */
napi_value js_hash_blocks(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  get_args(env, info, argv, 2);
  unsigned char *data, *out;
  size_t len, outlen;
  CHECK(napi_get_buffer_info(env, argv[0], (void **)&data, &len));
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&out, &outlen));
  if (len % BLOCK != 0 || outlen < len / BLOCK * HASH) {
    napi_throw_range_error(env, NULL, "hashBlocks: data must be whole 4 KiB blocks and out 32 bytes per block");
    return NULL;
  }
  for (size_t i = 0; i < len / BLOCK; i++) hash_block(data + i * BLOCK, out + i * HASH);
  return NULL;
}

/* The Merkle tree as it grows: per level, the block of hashes being filled. */
struct tree {
  unsigned char block[LEVELS][BLOCK];
  unsigned fill[LEVELS];
  uint64_t count[LEVELS];
  uint64_t size;
};

static void push(struct tree *t, int level, const unsigned char *hash) {
  memcpy(t->block[level] + t->fill[level], hash, HASH);
  t->fill[level] += HASH;
  t->count[level]++;
  if (t->fill[level] == BLOCK) {
    unsigned char up[HASH];
    sha256(t->block[level], BLOCK, up);
    t->fill[level] = 0;
    push(t, level + 1, up);
  }
}

/* The digest: the root (the only hash of the top level) in a 256-byte
 * descriptor (version 1, SHA-256, 4 KiB blocks, no salt), hashed. */
static void finish(struct tree *t, unsigned char *digest) {
  unsigned char desc[256] = {1, 1, 12, 0};
  if (t->size > 0) {
    for (int level = 0; level < LEVELS - 1; level++) {
      if (t->count[level] == 1 && t->count[level + 1] == 0) {
        memcpy(desc + 16, t->block[level], HASH);
        break;
      }
      if (t->fill[level] > 0) {
        unsigned char up[HASH];
        memset(t->block[level] + t->fill[level], 0, BLOCK - t->fill[level]);
        sha256(t->block[level], BLOCK, up);
        t->fill[level] = 0;
        push(t, level + 1, up);
      }
    }
  }
  for (int i = 0; i < 8; i++) desc[8 + i] = (unsigned char)(t->size >> (8 * i));
  sha256(desc, sizeof desc, digest);
}

/* Writes data at pos, seeking over whole zero blocks so that the copy stays
 * sparse (pos is block-aligned); *end: where the last write ended. */
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

static void hex(const unsigned char *d, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < HASH; i++) { out[2 * i] = digits[d[i] >> 4]; out[2 * i + 1] = digits[d[i] & 15]; }
  out[2 * HASH] = 0;
}

/* Names an unnamed file by its digest under objects/ab/cdef…; never
 * replaces. 1: linked, 0: the store has that content, -1: errno. */
static int link_object(int fd, const char *objects, const char *digest_hex) {
  char proc[64], path[PATH_MAX];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  snprintf(path, sizeof path, "%s/%.2s", objects, digest_hex);
  size_t dirlen = strlen(path);
  snprintf(path + dirlen, sizeof path - dirlen, "/%s", digest_hex + 2);
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

/* storeFile(src, tmpDir: string | null, objectsDir: string | null) ->
 * [digestHex, size, stored]. Reads src once, hashing it; with tmpDir and
 * objectsDir, copies it meanwhile into an unnamed file (O_TMPFILE in tmpDir,
 * so a crash leaves nothing) that is then linked at its digest, or dropped
 * when the store has it. Zero blocks stay holes. Not synced: the caller
 * syncs the filesystem once, before publishing what refers to it. */
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
  struct tree *tree = calloc(1, sizeof *tree);
  unsigned char *buf = malloc(CHUNK);
  const char *failed = NULL;
  int e = 0, in = -1, out = -1, stored = 0;
  off_t end = 0;
  uint64_t size = 0;
  unsigned char digest[HASH];
  char digest_hex[2 * HASH + 1];

  in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) { failed = "open"; goto done; }
  if (store && (out = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0444)) < 0) { failed = "open"; goto done; }
  size_t fill = 0; /* bytes in buf; buf is flushed whole, so it stays block-aligned in the file */
  for (;;) {
    ssize_t n = read(in, buf + fill, CHUNK - fill);
    if (n < 0) { if (errno == EINTR) continue; failed = "read"; goto done; }
    fill += n;
    if (n > 0 && fill < CHUNK) continue;
    size_t whole = fill / BLOCK * BLOCK;
    for (size_t off = 0; off < whole; off += BLOCK) {
      unsigned char h[HASH];
      hash_block(buf + off, h);
      push(tree, 0, h);
    }
    if (n == 0 && fill > whole) { /* the last, partial block: hashed zero-padded */
      unsigned char last[BLOCK] = {0}, h[HASH];
      memcpy(last, buf + whole, fill - whole);
      hash_block(last, h);
      push(tree, 0, h);
    }
    if (store && write_sparse(out, buf, fill, tree->size, &end) < 0) { failed = "pwrite"; goto done; }
    tree->size += fill;
    fill = 0;
    if (n == 0) break;
  }
  size = tree->size;
  /* a file ending in a hole: the size the writes didn't reach */
  if (store && end < (off_t)size && ftruncate(out, size) < 0) { failed = "ftruncate"; goto done; }
  finish(tree, digest);
  hex(digest, digest_hex);
  if (store && (stored = link_object(out, objects, digest_hex)) < 0) { failed = "linkat"; goto done; }
done:
  e = errno;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  free(src); free(tmp); free(objects); free(tree); free(buf);
  if (failed) return throw_errno(env, e, failed);
  napi_value result, v;
  napi_create_array_with_length(env, 3, &result);
  napi_create_string_latin1(env, digest_hex, 2 * HASH, &v);
  napi_set_element(env, result, 0, v);
  napi_create_double(env, (double)size, &v);
  napi_set_element(env, result, 1, v);
  napi_get_boolean(env, stored == 1, &v);
  napi_set_element(env, result, 2, v);
  return result;
}
