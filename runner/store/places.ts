// Places no dep can be hashed from. The kernel's pseudo filesystems (/proc, /sys, cgroups, debugfs, …) give their
// files a size of 0 and a fixed mtime while their content changes at every read, so no stat (and no stat cache) ever
// sees a change; device files, fifos and sockets have no content to hash at all (reading a fifo blocks, a device
// never ends). A dep there, or leading there through a symlink or a mount, is refused with a message, never hashed.
import { statfsSync, type BigIntStats } from 'node:fs';
import { UsageError } from '../core/errors.js';

/** An out or dep that is unsafe or cannot be hashed (a symlink leaving the workspace, a special file): a message. */
export class WorkspaceError extends UsageError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'WorkspaceError';
  }
}

/** The kernel's pseudo filesystems by statfs magic (linux/magic.h). tmpfs (/dev/shm) is a real one. */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x1cd1, 'devpts'],
  [0x62656570, 'configfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x67596969, 'rpc_pipefs'],
]);

/** The hint of every refusal here. */
export const UNHASHABLE_HINT =
  'copy what the stage reads into a regular file first: a stage with `cache: false` that writes it as an out runs every time, and the stages reading that out re-run only when its bytes change';

/**
 * The tree an absolute path lies in, by its text alone, when that tree holds nothing hashable: `/proc`, `/sys`, or
 * `/dev` (but `/dev/shm`, a tmpfs whose files are regular ones).
 */
export function pseudoTree(abs: string): '/proc' | '/sys' | '/dev' | undefined {
  const within = (top: string) => abs === top || abs.startsWith(`${top}/`);
  if (within('/proc')) return '/proc';
  if (within('/sys')) return '/sys';
  if (within('/dev') && !within('/dev/shm')) return '/dev';
  return undefined;
}

/** The pseudo filesystem a path lies on (statfs), or undefined for a real one (or when it cannot be asked). */
export function pseudoFilesystem(abs: string): string | undefined {
  try {
    return PSEUDO_FILESYSTEMS.get(statfsSync(abs).type);
  } catch {
    return undefined;
  }
}

/** What a path that is neither a file nor a folder is, in words (its stat, symlinks followed). */
export function specialKind(st: BigIntStats): string {
  if (st.isFIFO()) return 'a fifo';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'neither a file nor a folder';
}

const PSEUDO_FILES = 'its files cannot be hashed (they show a size of 0 and a fixed mtime, whatever they hold)';

/** Why nothing at an absolute path can be hashed, by its text alone (`under \`/proc\`: …`), or undefined. */
export function unhashableTree(abs: string): string | undefined {
  const tree = pseudoTree(abs);
  if (tree === undefined) return undefined;
  return `under \`${tree}\`: ${tree === '/dev' ? 'devices have no content to hash (only /dev/shm holds regular files)' : PSEUDO_FILES}`;
}

/** Why nothing at `real` (a real path: symlinks resolved) can be hashed, by its place and its filesystem, or undefined. */
export function unhashablePlace(real: string): string | undefined {
  const tree = unhashableTree(real);
  if (tree) return tree;
  const fs = pseudoFilesystem(real);
  return fs ? `on the kernel's \`${fs}\` filesystem: ${PSEUDO_FILES}` : undefined;
}
