/** The admin tool's two kinds of failure (scripts/admin.ts maps them to exit codes 2 and 1). */

/** A mistake in the command line or the registration: exit code 2, nothing written. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The operation could not be done (not found, conflict, refused): exit code 1. */
export class OperationError extends Error {
  override name = "OperationError";
}
