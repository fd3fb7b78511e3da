// The start-up paths write with write(2) (src/cli/emit.ts) rather than through
// process.stdout: their output must still arrive whole where stdout is a
// non-blocking pipe that is full (as another process may leave a shared one),
// and a reader that went away (`strata … | head -1`) is no error.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {bin} from './helpers.js'

// python3 makes the pipe: node has no fcntl to set O_NONBLOCK or a pipe's size
const fullPipe = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, 1031, 4096)            # F_SETPIPE_SZ: one page
os.write(w, b'x' * 4000)              # nearly full: the help page below won't fit
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([${JSON.stringify(process.execPath)}, ${JSON.stringify(bin)}, 'mount', '--help'], stdout=w, stderr=subprocess.PIPE)
os.close(w)
time.sleep(0.5)                       # let it find the pipe full
out = b''
while True:
    b = os.read(r, 65536)
    if not b: break
    out += b
p.wait()
sys.stdout.buffer.write(b'%d\\n' % p.returncode + p.stderr.read() + b'\\n--\\n' + out[4000:])
`

test('help arrives whole through a full non-blocking pipe', () => {
  const want = spawnSync(process.execPath, [bin, 'mount', '--help'], {encoding: 'utf8'})
  assert.equal(want.status, 0)
  assert.ok(want.stdout.length > 96, 'more than the pipe has room for')
  const r = spawnSync('python3', ['-c', fullPipe], {encoding: 'utf8'})
  assert.equal(r.status, 0, r.stderr)
  const [head, out] = r.stdout.split('\n--\n')
  assert.equal(head.trim(), '0', 'exit status, then stderr (none)')
  assert.equal(out, want.stdout)
})

test('a reader that went away ends the output quietly', () => {
  for (const args of [['mount', '--help'], ['--version']]) {
    const r = spawnSync('bash', ['-c', `"$0" "$1" ${args.join(' ')} | (exec 0<&-; sleep 0.2); echo "status \${PIPESTATUS[0]}"`, process.execPath, bin], {encoding: 'utf8'})
    assert.equal(r.stdout, 'status 0\n', args.join(' '))
    assert.equal(r.stderr, '', args.join(' '))
  }
})
