/**
 * An error of the client with a stable `code`: the core's validation codes
 * (`INVALID_PRIORITY`, `UNKNOWN_QUEUE`, `INVALID_LEASE`, …) and the
 * protocol's refusals (`QUEUE_FULL`, `NOT_OWNER`, `NOT_IN_FLIGHT`, `LOCK_HELD`,
 * `BAD_STORED_VALUE`, `PROTOCOL_ERROR`, `CONFIG`).
 */
export class XbotError extends Error {
  /** The stable code, e.g. `QUEUE_FULL`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'XbotError';
    this.code = code;
  }
}

/** The code of an error thrown by the core or the client, if it has one. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A reply the protocol does not define (a foreign script, a version mix-up). */
export function protocolError(script: string, reply: unknown): XbotError {
  return new XbotError('PROTOCOL_ERROR', `unexpected reply from ${script}: ${JSON.stringify(reply)}`);
}
