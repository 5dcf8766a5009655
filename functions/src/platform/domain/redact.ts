// Secret values never reach a log line or a document. Two nets: values the process has read from Secret Manager
// are registered and replaced wherever they appear; fields whose name says "secret" are masked whatever they hold.

export const REDACTED = '[REDACTED]';
const SENSITIVE_KEY =
  /(secret|password|passwd|token|credential|private[-_]?key|authorization|signature|api[-_]?key)/i;
/** Names of things (`secretId`, `tokenName`, `secretVersion`) are not values: they stay readable. */
const NAME_KEY = /(id|ids|name|names|version|versions|count|at|ms|path|field)$/i;
/** Shorter values would redact ordinary words; secrets this short are refused by policy anyway. */
const MIN_REGISTERED_LENGTH = 8;

export class Redactor {
  private readonly values = new Set<string>();

  register(value: string): void {
    if (value.length >= MIN_REGISTERED_LENGTH) this.values.add(value);
  }

  get size(): number {
    return this.values.size;
  }

  redactString(text: string): string {
    let out = text;
    // Longest first: a rotated value may extend an older one, and the older one must not split it.
    for (const v of [...this.values].sort((a, b) => b.length - a.length)) {
      if (out.includes(v)) out = out.split(v).join(REDACTED);
    }
    return out;
  }

  /** A deep copy with registered values replaced and sensitive keys masked. Cycles are cut. */
  redact(value: unknown, ancestors: object[] = []): unknown {
    if (typeof value === 'string') return this.redactString(value);
    if (value === null || typeof value !== 'object') return value;
    // Only an object that contains itself is a cycle; the same object twice side by side is not.
    if (ancestors.includes(value)) return '[Circular]';
    const seen = [...ancestors, value];
    if (value instanceof Error) {
      return {
        name: value.name,
        message: this.redactString(value.message),
        stack: value.stack && this.redactString(value.stack),
      };
    }
    if (Array.isArray(value)) return value.map((v) => this.redact(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        SENSITIVE_KEY.test(k) && !NAME_KEY.test(k) && (typeof v === 'string' || Buffer.isBuffer(v))
          ? REDACTED
          : this.redact(v, seen);
    }
    return out;
  }
}

/** One redactor per process: secret reads register into it, the logger redacts through it. */
export const redactor = new Redactor();
