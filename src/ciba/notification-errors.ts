/**
 * The error a notification service throws for a failure worth retrying. In a module of its own
 * so that every built-in notifier can throw it without importing the module that chooses among
 * them (src/ciba/notifications.ts re-exports it).
 */

/** Thrown for failures worth retrying (network errors, 5xx, 429). */
export class RetryableNotificationError extends Error {
  override name = "RetryableNotificationError";
}
