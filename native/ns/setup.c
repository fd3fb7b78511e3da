// The setup executor: walks the ordered list of setup steps that strata's
// TypeScript side builds (src/runtime/setup.ts, one list for `run`, `run
// --root` and a session's holder), inside the namespace, with no second node.
// Wire format, read to EOF from the steps fd: each step is its field count
// in decimal, then that many fields, every one NUL-terminated. A failure is
// reported as "error KIND step N: WHAT: REASON" and ends the program (125).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "setup.h"

#define MAXSTEPS 512
#define MAXFIELDS 64

struct step {
  int n;
  char *f[MAXFIELDS];
};
static struct step steps[MAXSTEPS];
static int nsteps, current = -1;
static const char *setup_root; /* where in-root paths are resolved */

void (*setup_fail)(const char *kind, const char *fmt, ...);

/* a failure of the current step: its index and the reason (strata's side knows what the step does) */
#define STEP_FAIL(kind, fmt, ...) setup_fail(kind, "step %d " fmt, current, ##__VA_ARGS__)

int setup_read(int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (len == cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(fd, buf + len, cap - len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) setup_fail("environment", "cannot read the setup steps: %s", strerror(errno));
    if (r == 0) break;
    len += r;
  }
  char *p = buf, *end = buf + len;
  while (p < end) {
    if (nsteps == MAXSTEPS) setup_fail("usage", "too many setup steps");
    char *nend = memchr(p, 0, end - p);
    if (!nend) setup_fail("usage", "truncated setup steps");
    struct step *s = &steps[nsteps++];
    s->n = atoi(p);
    if (s->n < 2 || s->n > MAXFIELDS) setup_fail("usage", "bad setup step (%d fields)", s->n);
    p = nend + 1;
    for (int k = 0; k < s->n; k++) {
      char *z = memchr(p, 0, end - p);
      if (!z) setup_fail("usage", "truncated setup step %d", nsteps - 1);
      s->f[k] = p;
      p = z + 1;
    }
  }
  return nsteps;
}

/* first line of what a failed program said */
static void first_line(char *s) {
  char *nl = strchr(s, '\n');
  if (nl) *nl = 0;
}

/*
 * A path inside the root, resolved as the sandbox will see it (symlinks stay
 * inside the root); with create ("dir" or "file"), what is missing is made,
 * each parent's times put back after (a mount point is no change of the
 * user's), and reported as "made PATH" on the status fd — unless create ends
 * in '-' ("dir-", "file-"): made in a tmpfs of the sandbox's, not in the stack.
 */
static char *in_root(const char *path, const char *create, int statusfd) {
  static char out[8192];
  char todo[8192], done[8192] = "";
  snprintf(todo, sizeof todo, "%s", path);
  int hops = 0;
  char *rest = todo;
  for (;;) {
    while (*rest == '/') rest++;
    if (!*rest) break;
    char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    char part[4096];
    snprintf(part, sizeof part, "%.*s", (int)len, rest);
    rest += len;
    if (!strcmp(part, ".")) continue;
    if (!strcmp(part, "..")) {
      char *last = strrchr(done, '/');
      if (last) *last = 0;
      continue;
    }
    char here[8192];
    snprintf(here, sizeof here, "%s%s/%s", setup_root, done, part);
    struct stat st;
    if (lstat(here, &st) < 0) {
      if (!create || !*create) return NULL;
      char parent[8192];
      snprintf(parent, sizeof parent, "%s%s", setup_root, done);
      struct stat pst;
      if (lstat(parent, &pst) < 0) return NULL;
      while (*rest == '/') rest++;
      int last = !*rest;
      if (last && !strncmp(create, "file", 4)) {
        int fd = open(here, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return NULL;
        close(fd);
      } else if (mkdir(here, 0755) < 0)
        return NULL;
      struct timespec t[2] = {pst.st_atim, pst.st_mtim};
      utimensat(AT_FDCWD, parent, t, AT_SYMLINK_NOFOLLOW);
      snprintf(done + strlen(done), sizeof done - strlen(done), "/%s", part);
      if (statusfd >= 0 && create[strlen(create) - 1] != '-') dprintf(statusfd, "made %s\n", done);
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++hops > 40) return NULL;
      char target[4096];
      ssize_t n = readlink(here, target, sizeof target - 1);
      if (n < 0) return NULL;
      target[n] = 0;
      if (target[0] == '/') done[0] = 0;
      char next[8192];
      snprintf(next, sizeof next, "%s/%s", target, rest);
      snprintf(todo, sizeof todo, "%s", next);
      rest = todo;
      continue;
    }
    snprintf(done + strlen(done), sizeof done - strlen(done), "/%s", part);
  }
  snprintf(out, sizeof out, "%s%s", setup_root, done);
  return out;
}

static unsigned long mount_flags(const char *list) {
  static const struct {
    const char *name;
    unsigned long flag;
  } names[] = {{"ro", MS_RDONLY}, {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV}, {"noexec", MS_NOEXEC}, {"bind", MS_BIND},
               {"rec", MS_REC},   {"remount", MS_REMOUNT}, {"private", MS_PRIVATE}, {NULL, 0}};
  unsigned long flags = 0;
  char *copy = strdup(list), *save, *t;
  for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int k = 0; names[k].name; k++)
      if (!strcmp(t, names[k].name)) flags |= names[k].flag, found = 1;
    if (!found) STEP_FAIL("usage", "unknown mount flag '%s'", t);
  }
  free(copy);
  return flags;
}

/* the target of a step: a host path, or (in-root "1") a path resolved inside the root, made if asked */
static const char *target_of(const char *target, const char *inroot, const char *create, int statusfd) {
  if (strcmp(inroot, "1")) return target;
  const char *t = in_root(target, create, statusfd);
  if (!t) STEP_FAIL("environment", "cannot make %s in the stack (a symlink loop, or a file in the way?)", target);
  return t;
}

/* mount WHAT CWD SOURCE TARGET INROOT CREATE FSTYPE FLAGS DATA */
static void do_mount(struct step *s, int statusfd) {
  if (s->n != 10) STEP_FAIL("usage", "mount takes 10 fields");
  if (*s->f[2] && chdir(s->f[2]) < 0) STEP_FAIL("environment", "cannot enter %s: %s", s->f[2], strerror(errno));
  const char *target = target_of(s->f[4], s->f[5], s->f[6], statusfd);
  unsigned long flags = mount_flags(s->f[8]);
  if ((flags & MS_REMOUNT) && (flags & MS_BIND)) {
    // a read-only remount keeps the flags the kernel has locked on the mount (nosuid, nodev from the host's)
    struct statvfs v;
    if (statvfs(target, &v) == 0) {
      if (v.f_flag & ST_NOSUID) flags |= MS_NOSUID;
      if (v.f_flag & ST_NODEV) flags |= MS_NODEV;
      if (v.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
      if (v.f_flag & ST_NOATIME) flags |= MS_NOATIME;
      if (v.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
      if (v.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    }
  }
  const char *src = *s->f[3] ? s->f[3] : NULL, *type = *s->f[7] ? s->f[7] : NULL, *data = *s->f[9] ? s->f[9] : NULL;
  if (mount(src, target, type, flags, data) < 0) STEP_FAIL("environment", "%s", strerror(errno));
  if (*s->f[2] && chdir("/") < 0) {}
}

/* exec WHAT CWD FILE ARG... : a program that must succeed (fuse-overlayfs) */
static void do_exec(struct step *s) {
  int err[2];
  if (pipe2(err, O_CLOEXEC) < 0) STEP_FAIL("environment", "pipe: %s", strerror(errno));
  pid_t p = fork();
  if (p < 0) STEP_FAIL("environment", "fork: %s", strerror(errno));
  if (p == 0) {
    dup2(err[1], 2);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) dup2(nul, 0), dup2(nul, 1);
    if (*s->f[2] && chdir(s->f[2]) < 0) _exit(126);
    char *argv[MAXFIELDS];
    int k = 0;
    for (int j = 3; j < s->n; j++) argv[k++] = s->f[j];
    argv[k] = NULL;
    execvp(argv[0], argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(err[1]);
  char said[2048] = "";
  size_t n = 0;
  ssize_t r;
  while (n < sizeof said - 1 && (r = read(err[0], said + n, sizeof said - 1 - n)) > 0) n += r;
  said[n] = 0;
  close(err[0]);
  int st;
  while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    first_line(said);
    STEP_FAIL("environment", "%s", *said ? said : "it failed");
  }
}

/* link WHAT TARGET PATH(in root, made as a symlink to TARGET) */
static void do_link(struct step *s) {
  if (s->n != 4) STEP_FAIL("usage", "link takes 4 fields");
  char path[8192];
  snprintf(path, sizeof path, "%s%s", setup_root, s->f[3]);
  if (symlink(s->f[2], path) < 0) STEP_FAIL("environment", "%s", strerror(errno));
}

/* loopback WHAT: bring lo up in a network namespace of our own */
static void do_loopback(void) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) STEP_FAIL("environment", "socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) STEP_FAIL("environment", "%s", strerror(errno));
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) STEP_FAIL("environment", "%s", strerror(errno));
  close(fd);
}

/* network WHAT SOCKET [PID]: tell strata outside our pid (as the host sees it; or PID, a holder's) and wait until pasta has set the network up */
static void do_network(struct step *s) {
  char self[64];
  if (s->n > 3) snprintf(self, sizeof self, "%s", s->f[3]);
  else {
    ssize_t n = readlink("/proc/self", self, sizeof self - 1); // the host's /proc: the pivot comes later
    if (n < 0) STEP_FAIL("environment", "/proc/self: %s", strerror(errno));
    self[n] = 0;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", s->f[2]);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) STEP_FAIL("environment", "cannot reach strata for the private network: %s", strerror(errno));
  dprintf(fd, "%s\n", self);
  char answer[1024] = "";
  size_t got = 0;
  ssize_t r;
  while (got < sizeof answer - 1 && (r = read(fd, answer + got, sizeof answer - 1 - got)) > 0) got += r;
  answer[got] = 0;
  close(fd);
  if (strncmp(answer, "ok", 2)) {
    first_line(answer);
    STEP_FAIL("environment", "%s", !strncmp(answer, "error ", 6) ? answer + 6 : *answer ? answer : "the private network was not set up");
  }
}

static int after = -1; /* index of the "after" marker: the steps past it run once the command has ended */

void setup_run(const char *root, int statusfd) {
  setup_root = root ? root : "";
  for (current = 0; current < nsteps; current++) {
    struct step *s = &steps[current];
    const char *op = s->f[0];
    if (!strcmp(op, "after")) {
      after = current;
      break;
    }
    if (!strcmp(op, "mount")) do_mount(s, statusfd);
    else if (!strcmp(op, "exec")) do_exec(s);
    else if (!strcmp(op, "link")) do_link(s);
    else if (!strcmp(op, "hostname")) {
      if (sethostname(s->f[2], strlen(s->f[2])) < 0) STEP_FAIL("environment", "%s", strerror(errno));
    } else if (!strcmp(op, "loopback")) do_loopback();
    else if (!strcmp(op, "network")) do_network(s);
    else if (!strcmp(op, "mkdir")) target_of(s->f[2], "1", "dir", statusfd);
    else if (!strcmp(op, "isdir")) {
      const char *p = in_root(s->f[2], NULL, -1);
      struct stat st;
      if (!p || stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) setup_fail("not_found", "step %d ", current);
    } else STEP_FAIL("usage", "unknown step '%s'", op);
  }
  current = -1;
}

int setup_has_after(void) { return after >= 0; }

/* after the command: undo what outlives the namespace by itself (a FUSE daemon); failures are not the command's */
void setup_after(void) {
  for (int k = after + 1; after >= 0 && k < nsteps; k++)
    if (!strcmp(steps[k].f[0], "umount") && umount2(steps[k].f[2], 0) < 0) umount2(steps[k].f[2], MNT_DETACH);
}
