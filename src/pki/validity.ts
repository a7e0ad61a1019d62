/**
 * A certificate's validity period (RFC 5280 §4.1.2.5) from the console's form: a number of days,
 * or explicit dates. Times are whole seconds (certificates cannot hold less). By default a
 * certificate starts a minute in the past, so a client whose clock is slightly behind can use it
 * at once.
 */
import { PkiInputError } from "./errors";

export interface ValidityInput {
  /** Days from notBefore; give this or notAfter. */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const DAY = 86_400_000;
const CLOCK_SKEW_ALLOWANCE = 60_000;

/**
 * `floor` bounds the default start: a certificate from a CA created or imported seconds ago
 * starts when its CA does, not a minute before it.
 */
export function validityWindow(input: ValidityInput, maxDays: number, now: Date, floor?: Date): Validity {
  const backdated = Math.max(now.getTime() - CLOCK_SKEW_ALLOWANCE, floor?.getTime() ?? 0);
  const notBefore = wholeSeconds(input.notBefore ?? new Date(backdated));
  if ((input.days === undefined) === (input.notAfter === undefined)) {
    throw new PkiInputError("validity", "give either a number of days or an end date");
  }
  if (input.days !== undefined && (!Number.isInteger(input.days) || input.days < 1 || input.days > maxDays)) {
    throw new PkiInputError("validity", `the validity must be a whole number of days from 1 to ${maxDays}`);
  }
  const notAfter = wholeSeconds(input.notAfter ?? new Date(notBefore.getTime() + (input.days ?? 0) * DAY));
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new PkiInputError("validity", "the dates are not valid dates");
  }
  if (notAfter.getTime() <= now.getTime()) throw new PkiInputError("validity", "the end date is in the past");
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new PkiInputError("validity", "the end date must be after the start date");
  }
  if (notAfter.getTime() - notBefore.getTime() > maxDays * DAY) {
    throw new PkiInputError("validity", `a certificate may be valid for at most ${maxDays} days`);
  }
  return { notBefore, notAfter };
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/**
 * RFC 5280 §4.1.2.2: a positive integer of at most 20 octets; CA/Browser Forum practice is at
 * least 64 bits from a CSPRNG. 16 random bytes with the top bit cleared (so it stays positive
 * without a leading zero) give 127 bits; a zero first byte is bumped so the encoding stays 16
 * octets. Hex, as @peculiar/x509 takes it.
 */
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
