#ifndef STRATA_VERITY_H
#define STRATA_VERITY_H
#include <stddef.h>
#include <stdint.h>

#define BLOCK 4096
#define HASH 32
#define LEVELS 12 /* 4 KiB * 128^11 is beyond any file size */

/* The Merkle tree as it grows: per level, the block of hashes being filled. */
struct tree {
  unsigned char block[LEVELS][BLOCK];
  unsigned fill[LEVELS];
  uint64_t count[LEVELS];
  uint64_t size; /* the data's length: the caller adds to it */
};

extern const unsigned char zero_block[BLOCK];
/* n bytes at p are one whole block of zeros */
int is_zero(const unsigned char *p, size_t n);
/* SHA-256 of one 4 KiB data block (a constant for zero blocks) */
void hash_block(const unsigned char *b, unsigned char *out);
/* adds a hash at level (0: data blocks), hashing full blocks upwards */
void tree_push(struct tree *t, int level, const unsigned char *hash);
/* the fs-verity digest of what was pushed, for t->size bytes of data */
void tree_finish(struct tree *t, unsigned char *digest);
/* 64 lowercase hex digits and a NUL */
void digest_hex(const unsigned char *d, char *out);

#endif
