/**
 * Strict reading of `application/x-www-form-urlencoded` request bodies, as every OAuth endpoint
 * takes them (RFC 6749 §3.2, CIBA §7.1, RFC 9126 §2.1):
 * - any other content type is refused (400);
 * - a body over the configured limit is refused (413) without reading it all into memory;
 * - a repeated parameter is refused (RFC 6749 §3.1: "Request and response parameters MUST NOT be
 *   included more than once");
 * - a parameter sent without a value is treated as omitted (RFC 6749 §3.1).
 */
import { InvalidRequest, PayloadTooLarge } from "../errors";
import { type FormOptions, type FormParams, parseForm } from "../params/form-params";

const FORM_TYPE = "application/x-www-form-urlencoded";

export async function readForm(request: Request, limit: number, options: FormOptions = {}): Promise<FormParams> {
  checkContentType(request.headers.get("content-type"));
  const text = await readBodyText(request, limit);
  return parseForm(text, options);
}

export function checkContentType(contentType: string | null): void {
  const mediaType = contentType?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== FORM_TYPE) {
    throw new InvalidRequest(`the request body must be ${FORM_TYPE}`);
  }
}

/** Reads at most `limit` bytes of the body as UTF-8; anything longer is a 413. */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw new PayloadTooLarge(limit);
  if (!request.body) return "";

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw new PayloadTooLarge(limit);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InvalidRequest("the request body is not valid UTF-8");
  }
}
