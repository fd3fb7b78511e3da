// What a root session's command is held by (docs/design.md "Setup sequence"):
// the capability sets, the seccomp filter as a rule list for strata-ns, and
// which protections this machine can enforce (doctor lists them; a root
// session refuses to start with less unless --security-opt allow-missing).
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {createRequire} from 'node:module'
import {packageRoot} from '../root.js'
import {environment, usage} from '../errors.js'

export const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
]
/** podman's default eleven */
export const DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']

function capName(c: string, flag: string): string {
  const n = c.toUpperCase().replace(/^CAP_/, '')
  if (n !== 'ALL' && !CAP_NAMES.includes(n)) throw usage(`unknown capability '${c}' for ${flag}`, 'give a name such as NET_RAW or CAP_SYS_PTRACE (or ALL)')
  return n
}

/** The capability set, podman's way: the default eleven, --cap-drop (or ALL), then --cap-add (or ALL). */
export function capabilities(add: string[] = [], drop: string[] = []): {names: string[]; mask: bigint} {
  let set = new Set(DEFAULT_CAPS)
  for (const d of drop.map((c) => capName(c, '--cap-drop'))) d === 'ALL' ? (set = new Set()) : set.delete(d)
  for (const a of add.map((c) => capName(c, '--cap-add'))) a === 'ALL' ? CAP_NAMES.forEach((n) => set.add(n)) : set.add(a)
  const names = CAP_NAMES.filter((n) => set.has(n))
  return {names, mask: names.reduce((m, n) => m | (1n << BigInt(CAP_NAMES.indexOf(n))), 0n)}
}

const CLONE_NEWUSER = '0x10000000'
const EPERM = 1
const ENOSYS = 38
const MASKED_EQ = 7
/**
 * The default filter, modeled on podman's default profile but as a deny list:
 * what lets a process reach the kernel's keyrings, load code into it, see
 * other processes' memory or files by handle, change the mount tree, or make
 * a user namespace of its own (where the sandbox's mounts would no longer
 * bind it) is refused with EPERM; clone3 with ENOSYS so libc falls back to
 * clone, whose flags the filter can see. TIOCSTI/TIOCLINUX: no typing into a terminal.
 */
export const DEFAULT_RULES: string[] = [
  ...['keyctl', 'add_key', 'request_key', 'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module',
    'delete_module', 'open_by_handle_at', 'userfaultfd', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree',
    'mount', 'umount2', 'mount_setattr', 'pivot_root', 'setns', 'acct', 'swapon', 'swapoff', 'reboot', 'lookup_dcookie',
    'quotactl', 'nfsservctl', 'iopl', 'ioperm', 'settimeofday', 'clock_settime', 'stime', 'uselib', 'vm86', 'vm86old',
    'kcmp', 'process_vm_readv', 'process_vm_writev', 'syslog'].map((n) => `${n} errno ${EPERM}`),
  `clone errno ${EPERM} 0 ${MASKED_EQ} ${CLONE_NEWUSER} ${CLONE_NEWUSER}`,
  `unshare errno ${EPERM} 0 ${MASKED_EQ} ${CLONE_NEWUSER} ${CLONE_NEWUSER}`,
  `clone3 errno ${ENOSYS}`,
  `ioctl errno ${EPERM} 1 ${MASKED_EQ} 0xffffffff 0x5412`, // TIOCSTI
  `ioctl errno ${EPERM} 1 ${MASKED_EQ} 0xffffffff 0x541c`, // TIOCLINUX
]

const OPS: Record<string, number> = {SCMP_CMP_NE: 1, SCMP_CMP_LT: 2, SCMP_CMP_LE: 3, SCMP_CMP_EQ: 4, SCMP_CMP_GE: 5, SCMP_CMP_GT: 6, SCMP_CMP_MASKED_EQ: 7}
const ACTIONS: Record<string, string> = {
  SCMP_ACT_ALLOW: 'allow', SCMP_ACT_ERRNO: 'errno', SCMP_ACT_KILL: 'kill_thread', SCMP_ACT_KILL_THREAD: 'kill_thread',
  SCMP_ACT_KILL_PROCESS: 'kill', SCMP_ACT_TRAP: 'trap', SCMP_ACT_LOG: 'log',
}

interface OciRule {names?: string[]; name?: string; action: string; errnoRet?: number; args?: {index: number; value: number; valueTwo?: number; op: string}[]; includes?: {caps?: string[]; arches?: string[]}; excludes?: {caps?: string[]; arches?: string[]}}
interface OciProfile {defaultAction: string; defaultErrnoRet?: number; architectures?: string[]; syscalls?: OciRule[]}

/** An OCI/podman seccomp JSON profile as strata-ns's rule list (rules conditional on caps or arches this sandbox lacks are left out). */
export function ociSeccomp(file: string, caps: string[]): {defaultAction: string; rules: string[]} {
  let p: OciProfile
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as OciProfile
  } catch (e) {
    throw usage(`cannot read seccomp profile ${file}: ${(e as Error).message}`, 'give an OCI seccomp JSON file, or --seccomp unconfined')
  }
  const action = (a: string, errno: number | undefined, where: string) => {
    const act = ACTIONS[a]
    if (!act) throw usage(`seccomp profile ${file}: unknown action '${a}' in ${where}`, `use one of ${Object.keys(ACTIONS).join(', ')}`)
    return act === 'errno' ? `errno ${errno ?? EPERM}` : `${act} 0`
  }
  if (!p || typeof p.defaultAction !== 'string') throw usage(`seccomp profile ${file} has no defaultAction`, 'give an OCI seccomp JSON file')
  const arch = process.arch === 'x64' ? ['SCMP_ARCH_X86_64', 'amd64'] : process.arch === 'arm64' ? ['SCMP_ARCH_AARCH64', 'arm64'] : [process.arch]
  const has = (c: string) => caps.includes(c.replace(/^CAP_/, ''))
  const rules: string[] = []
  for (const r of p.syscalls ?? []) {
    if (r.includes?.caps && !r.includes.caps.every(has)) continue
    if (r.excludes?.caps && r.excludes.caps.some(has)) continue
    if (r.includes?.arches && !r.includes.arches.some((a) => arch.includes(a))) continue
    if (r.excludes?.arches && r.excludes.arches.some((a) => arch.includes(a))) continue
    const args = (r.args ?? []).map((a) => {
      if (OPS[a.op] === undefined) throw usage(`seccomp profile ${file}: unknown op '${a.op}'`, `use one of ${Object.keys(OPS).join(', ')}`)
      return `${a.index} ${OPS[a.op]} ${a.value} ${a.valueTwo ?? 0}`
    })
    for (const n of r.names ?? (r.name ? [r.name] : [])) rules.push([n, action(r.action, r.errnoRet, n), ...args].join(' '))
  }
  return {defaultAction: action(p.defaultAction, p.defaultErrnoRet, 'defaultAction').replace(' ', ':'), rules}
}

// the prebuild for this platform while it matches native/, else build/Release (scripts/native.cjs), as for the addon
let helper: string | undefined
/** strata-ns's path, looked up once per process (the lookup checks the prebuild against native/: `run` asks several times on its start-up path). */
export const nsHelper = (): string => (helper ??= createRequire(import.meta.url)(join(packageRoot, 'scripts', 'native.cjs')).nativePath('strata-ns') as string)

export interface Protection {name: string; enforced: boolean; why?: string}

/** Which of a root session's protections this machine enforces. */
export function protections(): Protection[] {
  const status = (() => {
    try {
      return readFileSync('/proc/self/status', 'utf8')
    } catch {
      return ''
    }
  })()
  const libseccomp = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/aarch64-linux-gnu/libseccomp.so.2', '/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/libseccomp.so.2', '/lib/libseccomp.so.2'].some(existsSync)
  const kernelSeccomp = /^Seccomp:/m.test(status)
  const maxUserns = Number((() => { try { return readFileSync('/proc/sys/user/max_user_namespaces', 'utf8') } catch { return '0' } })())
  return [
    {name: 'sandbox helper (strata-ns)', enforced: existsSync(nsHelper()), why: 'build/Release/strata-ns is missing: rebuild with `npm run build:native`'},
    {name: 'pivot_root, old root detached', enforced: true},
    {name: 'nested user namespace (mounts locked)', enforced: maxUserns > 1, why: 'user.max_user_namespaces is too low for a nested namespace'},
    {name: 'capabilities limited', enforced: true},
    {name: 'no_new_privs', enforced: /^NoNewPrivs:/m.test(status), why: 'this kernel has no no_new_privs'},
    {name: 'seccomp filter', enforced: kernelSeccomp && libseccomp, why: !kernelSeccomp ? 'this kernel has no seccomp' : 'libseccomp.so.2 is missing: install libseccomp2'},
    {name: 'own pid, ipc, uts namespaces; masked and read-only /proc', enforced: true},
  ].map((p) => (p.enforced ? {name: p.name, enforced: true} : p))
}

/** Refuses a root session on a machine that can't hold it, unless allowed; returns what is missing. */
export function checkProtections(allowMissing: boolean): Protection[] {
  const missing = protections().filter((p) => !p.enforced)
  const helper = missing.find((p) => p.name.startsWith('sandbox helper'))
  if (helper) throw environment(`cannot start a root session: ${helper.why}`, 'rebuild strata')
  if (missing.length && !allowMissing)
    throw environment(`this machine cannot enforce: ${missing.map((p) => `${p.name} (${p.why})`).join('; ')}`, 'fix that, or pass --security-opt allow-missing to start with less (see `strata doctor`)')
  return missing
}
