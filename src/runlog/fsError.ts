// File-system failures in words people can act on: "no space left on the device (ENOSPC)" rather
// than a stack or a bare errno. The run folder, the run log's writer and the CLI's train path say
// what they were doing and where; this says what went wrong.

const WORDS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  EEXIST: 'it exists',
};

/** The error's code, if it has one ("ENOSPC"). */
export function errorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "no space left on the device (ENOSPC)", or the error's message when its code is not one of ours. */
export function describeFsError(err: unknown): string {
  const code = errorCode(err);
  if (code && WORDS[code]) return `${WORDS[code]} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

/** An error whose message says what was being done, where, and why it failed, on one line. */
export class FileSystemError extends Error {
  readonly code: string | undefined;

  constructor(doing: string, cause: unknown, why = describeFsError(cause)) {
    super(`${doing}: ${why}`);
    this.code = errorCode(cause);
  }
}
