// strata-ns: the namespace side of `run`, `run --root` and a session's holder
// (docs/design.md "Sandboxes: the engine and the setup sequence"). unshare
// has made the user, mount, uts (and net) namespaces with the store's
// mapping; this program first walks the setup steps strata sent (setup.c:
// mount the stack, /dev, /tmp, the volumes, the hostname, loopback), then:
//   --plain DIR   runs the command in DIR (plain `run`: no sandbox);
//   --setup-only  ends (a session's holder keeps what was mounted);
//   --root ROOT   makes the sandbox, in bubblewrap's order: new mount + pid
//   namespaces -> pid 1 mounts its own /proc, makes the kernel's knobs
//   read-only and masks podman's list, /sys read-only -> pivot_root into ROOT
//   and detach the old root -> a nested user namespace (identity map of ours,
//   written by the parent) so every mount is locked -> pid 1 stays as a small
//   init; the command gets setsid, --user, the capability sets, no_new_privs
//   and, last, the seccomp filter, then exec.
// Setup failures: exit 125 with "error KIND MESSAGE" on the status fd (3).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include "setup.h"

#define MAXRULES 256
static const char *root, *wd = "/", *user;
static int statusfd = -1, watchpid = -1, no_seccomp, joinpid = -1, stepsfd = -1, setup_only;
static const char *plain; /* --plain DIR: no sandbox; the command runs in DIR of the namespace's view */
static const char *lockdir; /* --lock DIR: held shared while we run */
static int lockfd = -1;
static char procdir[4096] = "/proc";
static uint64_t caps = 0;

static char *rules[MAXRULES];
static int nrules;
static char *seccomp_default = "allow";

static void fail(const char *kind, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (statusfd >= 0) dprintf(statusfd, "error %s %s\n", kind, msg);
  else fprintf(stderr, "strata-ns: %s\n", msg);
  _exit(125);
}

static void wr(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) fail("environment", "error mapping ids: cannot write %s: %s", path, strerror(errno));
  close(fd);
}

/* identity map of our own extents, for the nested namespace of pid */
static void identity_map(pid_t pid, const char *which) {
  char src[64], dst[4200], buf[4096], out[4096] = "";
  snprintf(src, sizeof src, "/proc/self/%s", which);
  snprintf(dst, sizeof dst, "%s/%d/%s", procdir, pid, which);
  FILE *f = fopen(src, "re");
  if (!f) fail("environment", "error mapping ids: %s: %s", src, strerror(errno));
  unsigned long a, b, c;
  while (fgets(buf, sizeof buf, f))
    if (sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3) snprintf(out + strlen(out), sizeof out - strlen(out), "%lu %lu %lu\n", a, a, c);
  fclose(f);
  wr(dst, out);
}

static int is_dir(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
static int exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

/* a path under ROOT; what is masked and made read-only is named from the sandbox's side */
static char *at(const char *p) {
  static char buf[8][4096];
  static int i;
  char *b = buf[i++ & 7];
  snprintf(b, 4096, "%s%s", root, p);
  return b;
}

static const char *ro_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL};
static const char *masked[] = {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                               "/proc/sched_debug", "/proc/scsi", "/proc/interrupts", "/proc/asound", "/sys/firmware", "/sys/fs/selinux",
                               "/sys/dev/block", "/sys/devices/virtual/powercap", NULL};

static void sandbox_mounts(void) {
  // /proc of our own pid namespace: no host pid is in it (joining a session: its holder's, already there)
  if (joinpid < 0 && mount("proc", at("/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail("environment", "cannot mount /proc in the sandbox: %s", strerror(errno));
  // /sys: a read-only sysfs when the network namespace is ours; else a read-only empty tmpfs, never a writable directory of the stack
  if (is_dir(at("/sys"))) {
    if (mount("sysfs", at("/sys"), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
        mount("tmpfs", at("/sys"), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555") < 0)
      fail("environment", "cannot cover /sys in the sandbox: %s", strerror(errno));
  }
  for (const char **p = ro_paths; *p; p++) {
    char *t = at(*p);
    if (!exists(t)) continue;
    if (mount(t, t, NULL, MS_BIND | MS_REC, NULL) < 0 || mount(NULL, t, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
      fail("environment", "cannot make %s read-only: %s", *p, strerror(errno));
  }
  for (const char **p = masked; *p; p++) {
    char *t = at(*p);
    if (!exists(t)) continue;
    int r = is_dir(t) ? mount("tmpfs", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=000") : mount("/dev/null", t, NULL, MS_BIND, NULL);
    if (r < 0) fail("environment", "cannot mask %s: %s", *p, strerror(errno));
  }
  // pivot_root into the stack and detach the old root: no path leads back to the host
  if (chdir(root) < 0) fail("environment", "cannot enter %s: %s", root, strerror(errno));
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail("environment", "pivot_root into the stack failed: %s", strerror(errno));
  if (umount2(".", MNT_DETACH) < 0) fail("environment", "cannot detach the host's root: %s", strerror(errno));
  if (chdir("/") < 0) fail("environment", "chdir /: %s", strerror(errno));
}

/* ---- seccomp through libseccomp, loaded at run time (no build dependency) ---- */
struct arg_cmp {
  unsigned int arg;
  int op;
  uint64_t a, b;
};
static uint32_t action_of(const char *s, int err) {
  if (!strcmp(s, "allow")) return 0x7fff0000U;
  if (!strcmp(s, "errno")) return 0x00050000U | (err & 0xffff);
  if (!strcmp(s, "kill")) return 0x80000000U;
  if (!strcmp(s, "kill_thread")) return 0;
  if (!strcmp(s, "trap")) return 0x00030000U;
  if (!strcmp(s, "log")) return 0x7ffc0000U;
  fail("usage", "unknown seccomp action '%s'", s);
  return 0;
}
static void *sc_ctx;
static int (*sc_load)(void *);
/* the filter is built on the host's side (libseccomp lives there), loaded last, just before exec */
static void prepare_seccomp(void) {
  void *h = dlopen("libseccomp.so.2", RTLD_NOW);
  if (!h) fail("environment", "seccomp: cannot load libseccomp.so.2 (install libseccomp2, or pass --security-opt allow-missing)");
  void *(*init)(uint32_t) = dlsym(h, "seccomp_init");
  int (*resolve)(const char *) = dlsym(h, "seccomp_syscall_resolve_name");
  int (*add)(void *, uint32_t, int, unsigned int, const struct arg_cmp *) = dlsym(h, "seccomp_rule_add_array");
  int (*load)(void *) = dlsym(h, "seccomp_load");
  if (!init || !resolve || !add || !load) fail("environment", "seccomp: libseccomp.so.2 lacks its API");
  char *d = strdup(seccomp_default), *de = strchr(d, ':');
  if (de) *de++ = 0;
  uint32_t def = action_of(d, de ? atoi(de) : 1);
  void *ctx = init(def);
  if (!ctx) fail("environment", "seccomp: seccomp_init failed");
  // rule: NAME ACTION ERRNO [ARG OP A B]...   (space separated)
  for (int i = 0; i < nrules; i++) {
    char *r = strdup(rules[i]), *save, *name = strtok_r(r, " ", &save), *act = strtok_r(NULL, " ", &save), *e = strtok_r(NULL, " ", &save);
    if (!name || !act || !e) fail("usage", "bad seccomp rule '%s'", rules[i]);
    struct arg_cmp cmp[6];
    unsigned n = 0;
    char *tok;
    while (n < 6 && (tok = strtok_r(NULL, " ", &save))) {
      cmp[n].arg = atoi(tok);
      cmp[n].op = atoi(strtok_r(NULL, " ", &save) ?: "0");
      cmp[n].a = strtoull(strtok_r(NULL, " ", &save) ?: "0", NULL, 0);
      cmp[n].b = strtoull(strtok_r(NULL, " ", &save) ?: "0", NULL, 0);
      n++;
    }
    int nr = resolve(name);
    if (nr < 0 && nr != -10 /* pseudo numbers are negative but below -10 */) continue;
    if (nr == -1 || nr == -10) continue;
    uint32_t a = action_of(act, atoi(e));
    if (a == def) continue;
    int rc = add(ctx, a, nr, n, cmp);
    if (rc < 0 && rc != -EEXIST && rc != -EACCES && rc != -EDOM) fail("environment", "seccomp: rule for %s refused: %s", name, strerror(-rc));
  }
  sc_ctx = ctx;
  sc_load = load;
}
static void load_seccomp(void) {
  int rc = sc_load(sc_ctx);
  if (rc < 0) fail("environment", "seccomp: cannot load the filter: %s", strerror(-rc));
}

static int cap_last(void) {
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
  int n = 40;
  if (f) {
    if (fscanf(f, "%d", &n) != 1) n = 40;
    fclose(f);
  }
  return n;
}

/* the capability sets: bounding, permitted, effective, inheritable and ambient hold `caps` */
/* the bounding set first, while we still hold CAP_SETPCAP: after --user's setresuid we no longer do */
static void drop_bounding(void) {
  int last = cap_last();
  for (int c = 0; c <= last; c++)
    if (!(caps >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) fail("environment", "cannot drop capability %d: %s", c, strerror(errno));
}
static void set_caps(int keep_others) {
  int last = cap_last();
  uint64_t set = keep_others ? caps : 0;
  struct __user_cap_header_struct hd = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{(uint32_t)set, (uint32_t)set, (uint32_t)set}, {(uint32_t)(set >> 32), (uint32_t)(set >> 32), (uint32_t)(set >> 32)}};
  if (syscall(SYS_capset, &hd, d) < 0) fail("environment", "capset: %s", strerror(errno));
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int c = 0; c <= last; c++)
    if (set >> c & 1) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

/* closes every descriptor above 2 but keep and keep2 (-1: none) */
static void close_fds(int keep, int keep2) {
  int lo = keep < keep2 ? keep : keep2, hi = keep < keep2 ? keep2 : keep, ok = 1;
  int from = 3;
  for (int k = 0; k < 2; k++) {
    int fd = k ? hi : lo;
    if (fd < from) continue;
    if (fd > from) ok &= syscall(SYS_close_range, from, fd - 1, 0) == 0;
    from = fd + 1;
  }
  ok &= syscall(SYS_close_range, from, ~0U, 0) == 0;
  if (ok) return;
  for (int fd = 3; fd < 65536; fd++) // kernels before 5.9
    if (fd != keep && fd != keep2) close(fd);
}

/*
 * --lock DIR: the stack's directory held shared for as long as this runs, as
 * strata's own locks are (src/store/lock.ts: flock on the directory, then a
 * check that the path still names what we locked); so the start of `run`
 * needs no addon. Refused: "error conflict lock busy" / "error not_found lock gone".
 */
static int take_lock(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(errno == ENOENT || errno == ENOTDIR ? "not_found" : "environment", "lock %s", errno == ENOENT || errno == ENOTDIR ? "gone" : strerror(errno));
  if (flock(fd, LOCK_SH | LOCK_NB) < 0) fail(errno == EWOULDBLOCK ? "conflict" : "environment", "lock %s", errno == EWOULDBLOCK ? "busy" : strerror(errno));
  struct stat held, now;
  if (fstat(fd, &held) < 0 || stat(dir, &now) < 0 || held.st_ino != now.st_ino || held.st_dev != now.st_dev) fail("not_found", "lock gone");
  return fd;
}

/*
 * execvp as a shell searches: a name without '/' is looked up in PATH, and a
 * directory we can't enter is skipped, not reported; returns (with errno) only
 * when nothing ran: ENOENT when no PATH entry holds it (127), EACCES when one
 * holds it but it can't be run (126).
 */
static void exec_search(char **argv) {
  if (strchr(argv[0], '/')) {
    execv(argv[0], argv);
    return;
  }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  int denied = 0;
  for (const char *p = path;; ) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    char cand[4096];
    snprintf(cand, sizeof cand, "%.*s%s%s", (int)len, len ? p : ".", "/", argv[0]);
    execv(cand, argv);
    struct stat st;
    if (errno == EACCES && stat(cand, &st) == 0 && S_ISREG(st.st_mode)) denied = 1;
    else if (errno != ENOENT && errno != ENOTDIR && errno != EACCES && errno != ELOOP && errno != ENAMETOOLONG) return; // ENOEXEC, E2BIG, …: say so
    if (!colon) break;
    p = colon + 1;
  }
  errno = denied ? EACCES : ENOENT;
}

/* the command, or strata's one wording of why it didn't run (as a shell: 127 not found, 126 not runnable) */
static void exec_or_exit(char **argv) {
  exec_search(argv);
  int e = errno;
  if (statusfd >= 0) close(statusfd);
  fprintf(stderr, "strata: %s: %s\n", argv[0], e == ENOENT ? "command not found" : e == EACCES ? "permission denied (not executable, or a directory on the way is closed to you)" : strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

static int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, 0};

/* wait for child, forwarding signals; with a watched pidfd, kill the child when it goes */
static int supervise(pid_t child, int pidfd) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int *s = fwd; *s; s++) sigaddset(&set, *s);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  for (;;) {
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
      if (p == child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    struct pollfd pf[2] = {{sfd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (poll(pf, pidfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) return 125;
    if (pidfd >= 0 && pf[1].revents) {
      kill(child, SIGKILL); // strata went away: the sandbox goes with it
      pidfd = -1;
    }
    if (pf[0].revents) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGCHLD) kill(child, si.ssi_signo);
    }
  }
}

static void exec_command(char **argv) {
  // a new session: no terminal of the caller's to push input into (seccomp refuses TIOCSTI too, for a tty kept as stdin)
  if (!isatty(0) || no_seccomp) setsid();
  uid_t uid = 0;
  gid_t gid = 0;
  drop_bounding();
  if (user) {
    char *c = strchr(user, ':');
    uid = strtoul(user, NULL, 10);
    gid = c ? strtoul(c + 1, NULL, 10) : uid;
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0) fail("usage", "--user %s: cannot take gid %u: %s", user, gid, strerror(errno));
    if (uid != 0) prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (setresuid(uid, uid, uid) < 0) fail("usage", "--user %s: cannot take uid %u (not mapped in this store?): %s", user, uid, strerror(errno));
  }
  set_caps(uid == 0);
  if (chdir(wd) < 0) fail("not_found", "no directory %s in the stack: %s", wd, strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("environment", "no_new_privs: %s", strerror(errno));
  if (!no_seccomp) load_seccomp();
  exec_or_exit(argv);
}

/*
 * Plain `run`: no sandbox, the command runs in DIR of the namespace's view
 * with our environment. Steps left for after it (unmounting a FUSE daemon)
 * need us to wait; else the command simply replaces us.
 */
static void run_plain(char **argv) {
  if (statusfd >= 0) close(statusfd);
  statusfd = -1;
  if (chdir(plain) < 0) fail("environment", "cannot enter %s: %s", plain, strerror(errno));
  // PATH as the user had it: strata added the system directories only for unshare's newuidmap (src/exec.ts toolsEnv)
  const char *host_path = getenv("STRATA_HOST_PATH");
  if (host_path) {
    setenv("PATH", host_path, 1);
    unsetenv("STRATA_HOST_PATH");
  }
  // --watch PID: the command lives only as long as PID (a root session's pasta, which outlives `strata mount`, ends with its holder)
  int pidfd = -1;
  if (watchpid > 0 && (pidfd = syscall(SYS_pidfd_open, watchpid, 0)) < 0) _exit(errno == ESRCH ? 137 : 125);
  // a lock to hold, or steps for after: we stay and wait; else the command replaces us
  pid_t child = setup_has_after() || pidfd >= 0 || lockfd >= 0 ? fork() : 0;
  if (child < 0) fail("environment", "fork: %s", strerror(errno));
  if (child == 0) {
    if (lockfd >= 0) close(lockfd);
    if (pidfd >= 0) {
      close(pidfd);
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    }
    exec_or_exit(argv);
  }
  int status;
  if (pidfd >= 0) status = supervise(child, pidfd);
  else {
    // the terminal's Ctrl-C and Ctrl-\ are the command's
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {}
    status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  if (chdir("/") < 0) {}
  setup_after();
  _exit(status);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    if (!strcmp(a, "--setup-only")) { setup_only = 1; continue; }
    if (i + 1 >= argc) fail("usage", "%s needs a value", a);
    char *v = argv[++i];
    if (!strcmp(a, "--root")) root = v;
    else if (!strcmp(a, "--wd")) wd = v;
    else if (!strcmp(a, "--user")) user = v;
    else if (!strcmp(a, "--status-fd")) statusfd = atoi(v);
    else if (!strcmp(a, "--watch")) watchpid = atoi(v);
    else if (!strcmp(a, "--join")) joinpid = atoi(v);
    else if (!strcmp(a, "--caps")) caps = strtoull(v, NULL, 0);
    else if (!strcmp(a, "--seccomp-default")) seccomp_default = v;
    else if (!strcmp(a, "--rule") && nrules < MAXRULES) rules[nrules++] = v;
    else if (!strcmp(a, "--seccomp")) no_seccomp = !strcmp(v, "off");
    else if (!strcmp(a, "--steps")) stepsfd = atoi(v);
    else if (!strcmp(a, "--plain")) plain = v;
    else if (!strcmp(a, "--lock")) lockdir = v;
    else fail("usage", "unknown option %s", a);
  }
  if (statusfd >= 0) fcntl(statusfd, F_SETFD, FD_CLOEXEC);
  // the setup steps (mount the stack, /dev, /tmp, volumes, …): read to EOF, which the starter sends once our ids are mapped
  setup_fail = fail;
  if (stepsfd >= 0) setup_read(stepsfd); // first: it waits for our ids to be mapped
  if (lockdir) lockfd = take_lock(lockdir);
  if (stepsfd >= 0) {
    setup_run(root, statusfd);
  }
  if (setup_only) _exit(0);
  if (i >= argc) fail("usage", "usage: strata-ns [--steps FD] (--root DIR [--wd DIR] [--user U[:G]] [--caps MASK] [--rule R]... | --plain DIR | --setup-only) -- CMD...");
  if (plain) run_plain(argv + i);
  if (!root) fail("usage", "strata-ns: --root, --plain or --setup-only is needed");
  if (!no_seccomp) prepare_seccomp();
  // only 0, 1, 2 and the status fd pass on
  close_fds(statusfd, lockfd);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  int pidfd = -1;
  if (watchpid > 0) {
    pidfd = syscall(SYS_pidfd_open, watchpid, 0);
    if (pidfd < 0 && errno == ESRCH) _exit(137);
  }
  // the pid namespace is for our child; the mount namespace is its own too (below), so that
  // the pivot leaves this process, which writes the nested namespace's maps, on the host's /proc
  if (joinpid > 0) {
    // a root session: its holder's namespaces, user first (it owns the others), then mnt, pid, uts, ipc, net
    static const char *nss[] = {"user", "mnt", "pid", "uts", "ipc", "net"};
    int fds[6];
    for (int k = 0; k < 6; k++) {
      char p[64], mine[64], theirs[128] = "", ours[128] = "";
      snprintf(p, sizeof p, "/proc/%d/ns/%s", joinpid, nss[k]);
      snprintf(mine, sizeof mine, "/proc/self/ns/%s", nss[k]);
      if (readlink(p, theirs, sizeof theirs - 1) < 0) fail("not_found", "the session's holder (pid %d) is gone: %s", joinpid, strerror(errno));
      if (readlink(mine, ours, sizeof ours - 1) >= 0 && !strcmp(ours, theirs)) { fds[k] = -1; continue; }
      if ((fds[k] = open(p, O_RDONLY | O_CLOEXEC)) < 0) fail("environment", "cannot open %s: %s", p, strerror(errno));
    }
    for (int k = 0; k < 6; k++)
      if (fds[k] >= 0 && (setns(fds[k], 0) < 0 || close(fds[k]) < 0)) fail("environment", "cannot join the session's %s namespace: %s", nss[k], strerror(errno));
    // pids of our children are the session's: write their maps through the session's /proc
    // fork returns our children's pids as our own (the host's) pid namespace sees them: /proc stays right
  } else if (unshare(CLONE_NEWPID | CLONE_NEWIPC) < 0) fail("environment", "cannot make the sandbox's pid and ipc namespaces: %s", strerror(errno));
  int go[2], mapped[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(mapped, O_CLOEXEC) < 0) fail("environment", "pipe: %s", strerror(errno));
  pid_t init = fork();
  if (init < 0) fail("environment", "fork: %s", strerror(errno));
  if (init == 0) {
    // pid 1 of the sandbox
    if (pidfd >= 0) close(pidfd);
    if (lockfd >= 0) close(lockfd); // the lock is the parent's to hold
    close(go[0]);
    close(mapped[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (unshare(CLONE_NEWNS) < 0) fail("environment", "cannot make the sandbox's mount namespace: %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("environment", "cannot make / private: %s", strerror(errno));
    sandbox_mounts();
    // the nested user namespace: what we mounted is locked for everything below
    if (unshare(CLONE_NEWUSER) < 0) fail("environment", "cannot make the nested user namespace: %s", strerror(errno));
    char c = 1;
    if (write(go[1], &c, 1) != 1 || read(mapped[0], &c, 1) != 1 || c != 1) _exit(125);
    close(go[1]);
    close(mapped[0]);
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail("environment", "error mapping ids in the nested namespace: %s", strerror(errno));
    pid_t cmd = fork();
    if (cmd < 0) fail("environment", "fork: %s", strerror(errno));
    if (cmd == 0) exec_command(argv + i);
    // init: no more capabilities than the command, then reap and forward until the command ends
    if (statusfd >= 0) close(statusfd);
    drop_bounding();
    set_caps(0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    _exit(supervise(cmd, -1));
  }
  close(go[1]);
  close(mapped[0]);
  char c;
  if (read(go[0], &c, 1) == 1) {
    identity_map(init, "uid_map");
    identity_map(init, "gid_map");
    c = 1;
    if (write(mapped[1], &c, 1) != 1) {}
  }
  close(mapped[1]);
  close(go[0]);
  if (statusfd >= 0) close(statusfd);
  int status = supervise(init, pidfd);
  setup_after(); // we are still in the namespace's own mount namespace (init made another)
  _exit(status);
}
