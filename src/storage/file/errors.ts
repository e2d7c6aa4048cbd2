import { StorageError, StorageForbiddenError, StorageNotFoundError, StorageTransientError } from '../errors.js';

/** Turns a Node fs error into a typed storage error naming the URL (and keeps it as the cause). */
export function fileError(url: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new StorageNotFoundError(url, code, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StorageForbiddenError(url, code, { cause: err });
    // Out of handles or a busy network file system: the same read may pass a moment later.
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
      return new StorageTransientError(url, code, { cause: err });
    default:
      return new StorageError(
        'ERR_STORAGE',
        url,
        `File storage failed (${code ?? (err instanceof Error ? err.message : String(err))}): ${url}`,
        { cause: err },
      );
  }
}
