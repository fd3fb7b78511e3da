// The sandbox's face of the one host-tool finder (src/exec.ts hostTool: PATH, then
// the system directories): a missing tool is an environment error naming its package.
import {environment} from '../errors.js'
import {hostTool as findTool} from '../exec.js'

/** The tool's absolute path, found as every host tool is (exec.ts: PATH, then the system directories); an environment error naming the package if none. */
export function hostTool(name: string, install = 'install util-linux'): string {
  const path = findTool(name)
  if (!path.startsWith('/')) throw environment(`${name} is not installed, and the sandbox needs it`, install)
  return path
}
