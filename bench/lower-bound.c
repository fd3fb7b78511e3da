// A lower bound for issue 2's first import: strata's on-disk work per file,
// in C, with N threads and nothing else. Per file: read it and SHA-256 every
// 4 KiB block (the hashes are dropped: the names come from a counter), copy
// it into an O_TMPFILE linked under objects/xx/, and make the stub: sized,
// user.overlay.metacopy + user.overlay.redirect, owner, mode and times.
// Directories and symlinks are made first, by one thread. Run by hand, in
// the same namespace as the baseline:
//   gcc -O2 -o /tmp/lower-bound bench/lower-bound.c -lcrypto -lpthread   (libssl-dev)
//   unshare --user --map-root-user --map-auto --mount -- /tmp/lower-bound TREE OUT 2
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <sys/syscall.h>
static char **files; static struct stat *sts; static int nfiles, cap;
static const char *src, *dst; static atomic_int next_i, counter;
static int collect(const char *p, const struct stat *st, int type, struct FTW *f) {
  char out[4096]; snprintf(out, sizeof out, "%s/tree/%s", dst, p + strlen(src));
  if (type == FTW_D) { mkdir(out, 0755); return 0; }
  if (type == FTW_SL) { char t[4096]; ssize_t n = readlink(p, t, sizeof t - 1); t[n] = 0; symlink(t, out); return 0; }
  if (!S_ISREG(st->st_mode)) return 0;
  if (nfiles == cap) { cap = cap ? cap * 2 : 1024; files = realloc(files, cap * sizeof *files); sts = realloc(sts, cap * sizeof *sts); }
  sts[nfiles] = *st; files[nfiles++] = strdup(p); return 0;
}
static void *work(void *arg) {
  static __thread char buf[1 << 20];
  char tmpdir[4096], path[4096];
  snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dst);
  for (;;) {
    int i = atomic_fetch_add(&next_i, 1); if (i >= nfiles) break;
    int in = open(files[i], O_RDONLY); int out = open(tmpdir, O_TMPFILE | O_RDWR, 0444);
    ssize_t n; off_t pos = 0; unsigned char h[32];
    while ((n = read(in, buf, sizeof buf)) > 0) {
      for (ssize_t o = 0; o < n; o += 4096) SHA256((unsigned char*)buf + o, (n - o) < 4096 ? n - o : 4096, h);
      pwrite(out, buf, n, pos); pos += n;
    }
    close(in);
    int c = atomic_fetch_add(&counter, 1);
    char fdp[64]; snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", out);
    snprintf(path, sizeof path, "%s/objects/%02x/%062d", dst, c & 255, c);
    linkat(AT_FDCWD, fdp, AT_FDCWD, path, AT_SYMLINK_FOLLOW); close(out);
    snprintf(path, sizeof path, "%s/tree/%s", dst, files[i] + strlen(src));
    int s = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600); ftruncate(s, sts[i].st_size);
    unsigned char mc[36] = {0, 36, 0, 1}; fsetxattr(s, "user.overlay.metacopy", mc, 36, 0);
    char red[80]; snprintf(red, sizeof red, "/%02x/%062d", c & 255, c); fsetxattr(s, "user.overlay.redirect", red, strlen(red), 0);
    fchown(s, sts[i].st_uid, sts[i].st_gid); fchmod(s, sts[i].st_mode & 07777);
    struct timespec ts[2] = {sts[i].st_atim, sts[i].st_mtim}; futimens(s, ts); close(s);
  }
  return 0;
}
int main(int argc, char **argv) {
  src = argv[1]; dst = argv[2]; int nt = atoi(argv[3]);
  char p[4096]; mkdir(dst, 0755); snprintf(p, sizeof p, "%s/tmp", dst); mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/objects", dst); mkdir(p, 0755);
  for (int i = 0; i < 256; i++) { snprintf(p, sizeof p, "%s/objects/%02x", dst, i); mkdir(p, 0755); }
  nftw(src, collect, 64, FTW_PHYS);
  pthread_t t[16]; for (int i = 0; i < nt; i++) pthread_create(&t[i], 0, work, 0);
  for (int i = 0; i < nt; i++) pthread_join(t[i], 0);
  int fd = open(dst, O_RDONLY); syncfs(fd);
  return 0;
}
