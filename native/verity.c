/* fs-verity SHA-256 digests in C, through node's own OpenSSL (SHA-NI where
 * the CPU has it): hashing is most of an import's CPU. The Merkle tree
 * (verity.h) serves object.c; hashBlocks serves digest.ts's streaming hasher. */
#define _GNU_SOURCE
#include "util.h"
#include "verity.h"
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co: no EVP fetch per 4 KiB */
#include <openssl/sha.h>
#include <pthread.h>
#include <string.h>

const unsigned char zero_block[BLOCK];
static unsigned char zero_hash[HASH];
static pthread_once_t zero_hash_once = PTHREAD_ONCE_INIT;
static void init_zero_hash(void) { SHA256(zero_block, BLOCK, zero_hash); }

int is_zero(const unsigned char *p, size_t n) { return n == BLOCK && memcmp(p, zero_block, BLOCK) == 0; }

static void sha256(const unsigned char *p, size_t n, unsigned char *out) {
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, p, n);
  SHA256_Final(out, &c);
}

/* One data block's hash; zero blocks (holes) are common and a constant. */
void hash_block(const unsigned char *b, unsigned char *out) {
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

void tree_push(struct tree *t, int level, const unsigned char *hash) {
  memcpy(t->block[level] + t->fill[level], hash, HASH);
  t->fill[level] += HASH;
  t->count[level]++;
  if (t->fill[level] == BLOCK) {
    unsigned char up[HASH];
    sha256(t->block[level], BLOCK, up);
    t->fill[level] = 0;
    tree_push(t, level + 1, up);
  }
}

/* The root (the only hash of the top level) goes into a 256-byte descriptor
 * (version 1, SHA-256, 4 KiB blocks, no salt), which is hashed. */
void tree_finish(struct tree *t, unsigned char *digest) {
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
        tree_push(t, level + 1, up);
      }
    }
  }
  for (int i = 0; i < 8; i++) desc[8 + i] = (unsigned char)(t->size >> (8 * i));
  sha256(desc, sizeof desc, digest);
}

void digest_hex(const unsigned char *d, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < HASH; i++) { out[2 * i] = digits[d[i] >> 4]; out[2 * i + 1] = digits[d[i] & 15]; }
  out[2 * HASH] = 0;
}
