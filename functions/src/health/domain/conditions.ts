// Health check conditions: a small language in the spirit of Gatus (https://github.com/TwiN/gatus#conditions),
// one condition per string, all of a check's conditions must pass for a probe to count as up. Pure: the schema
// (health/schema.ts) refuses what does not parse, the runner evaluates parsed conditions against what the
// prober observed.
//
// Grammar (tokens may be separated by spaces or tabs; subjects and keywords are case-sensitive):
//   condition   = status | number-subj | body | json | connected
//   status      = "status" ( compare STATUS | "in" "[" STATUS *( "," STATUS ) "]" )     STATUS: integer 100..599
//   number-subj = ( "responseTimeMs" | "certExpiresInDays" ) compare NUMBER          responseTimeMs: NUMBER >= 0
//   body        = "body" ( "contains" | "!contains" ) STRING
//   json        = "json" PATH ( ( "==" | "!=" ) VALUE | ( "<" | "<=" | ">" | ">=" ) NUMBER )
//   connected   = "connected" ( "==" | "!=" ) ( "true" | "false" )
//   compare     = "==" | "!=" | "<" | "<=" | ">" | ">="
//   PATH        = "$" *( "." NAME | "[" STRING "]" | "[" INDEX "]" )      NAME: [A-Za-z_][A-Za-z0-9_]*, INDEX >= 0
//   VALUE       = NUMBER | STRING | "true" | "false" | "null"
//   NUMBER and STRING are JSON literals (RFC 8259: `-1.5e3`, `"a \"quoted\" \u00e9"`).
// Examples: `status in [200, 204]`, `responseTimeMs < 800`, `body !contains "error"`, `json $.status == "UP"`,
// `json $.data.items[0].ok == true`, `json $["x-version"] != null`, `certExpiresInDays > 14`, `connected == true`.
//
// Syntax errors throw ConditionSyntaxError whose `position` is the 0-based offset of the offending token (the
// string's length when the condition ends too early), repeated in the message: `expected a number after '>=' at 16`.
//
// Evaluation never throws. Every failure comes with a detail meant for an incident or a cycle document:
// `status 503 not in [200, 204]`, `responseTimeMs 912 >= 800`, `$.status "DOWN" != "UP"`. Decisions:
// - Data the probe did not observe makes the condition FAIL, with the reason: `status unavailable: not connected
//   ("connect ECONNREFUSED 10.0.0.1:80")`, `body is not JSON`, `$.status not found`, `certExpiresInDays
//   unavailable: no TLS certificate`.
//   A JSONPath that is not found fails whatever the operator, `== null` included: null is a value, absent is not.
// - Without a connection only `connected` is observed: responseTimeMs then measures how fast the failure came, not
//   a response, so `responseTimeMs < 800` fails rather than pass a refused connection.
// - Comparisons are strict: `json $.count >= 3` fails on `"count": "3"` (a string is not a number), and
//   `json $.ok == true` fails on `"ok": 1`.
// - A detail quotes at most 32 characters of the body, redacted (bodies can hold tokens or personal data, and details
//   are stored in cycle documents and incidents and posted to chat): a preview for `contains`, the text around the
//   match for `!contains`, the JSON rendering of a value for `json`. Whatever looks like a credential is replaced by
//   [REDACTED] first, over the whole body, so a key cut by the 32-character window cannot leak in part
//   (platform/domain/credentials.ts). Probe errors are redacted and clipped the same way.
import { redactCredentials } from '../../platform/domain/credentials';

export type ProbeType = 'http' | 'tcp' | 'tls';
export type ComparisonOperator = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type OrderingOperator = '<' | '<=' | '>' | '>=';
export type JsonPathSegment = string | number;
export type JsonScalar = string | number | boolean | null;

export type Condition =
  | { subject: 'status'; operator: ComparisonOperator; value: number }
  | { subject: 'status'; operator: 'in'; values: number[] }
  | { subject: 'responseTimeMs' | 'certExpiresInDays'; operator: ComparisonOperator; value: number }
  | { subject: 'body'; operator: 'contains' | '!contains'; value: string }
  | { subject: 'json'; path: JsonPathSegment[]; operator: '==' | '!='; value: JsonScalar }
  | { subject: 'json'; path: JsonPathSegment[]; operator: OrderingOperator; value: number }
  | { subject: 'connected'; operator: '==' | '!='; value: boolean };

export type ConditionSubject = Condition['subject'];

/** What one probe saw. `connected` is false when no connection (or TLS handshake) was established. */
export interface ProbeObservation {
  connected: boolean;
  status?: number;
  responseTimeMs: number;
  body?: string;
  certExpiresInDays?: number;
  error?: string;
}

export interface ConditionResult {
  ok: boolean;
  detail: string;
}

export type Evaluation =
  { ok: true; detail: string } | { ok: false; detail: string; index: number; condition: Condition };

export class ConditionSyntaxError extends Error {
  override readonly name = 'ConditionSyntaxError';
  constructor(
    message: string,
    /** 0-based offset in the condition text of the token that could not be parsed. */
    readonly position: number,
  ) {
    super(message);
  }
}

/** Conditions are one line each; longer text is a mistake (a pasted body), not a condition. */
export const MAX_CONDITION_LENGTH = 500;
const MAX_PATH_SEGMENTS = 32;
const MAX_LIST_VALUES = 50;
/** At most this many characters of a probed body (or probe error), redacted, appear in a detail. */
export const DETAIL_BODY_CHARS = 32;
/** Probe errors (transport messages, not response content) keep up to 80 characters, redacted. */
export const DETAIL_ERROR_CHARS = 80;

/** The body with credentials redacted, once per observation (only failing body conditions need it). */
const redactedBodies = new WeakMap<ProbeObservation, string>();
function safeBody(obs: ProbeObservation & { body: string }): string {
  const known = redactedBodies.get(obs);
  if (known !== undefined) return known;
  const red = redactCredentials(obs.body);
  redactedBodies.set(obs, red);
  return red;
}

const SUBJECTS_BY_TYPE: Record<ProbeType, readonly ConditionSubject[]> = {
  // certExpiresInDays on http is observed for https targets only; the schema refuses it for http:// targets.
  http: ['status', 'responseTimeMs', 'body', 'json', 'certExpiresInDays'],
  tcp: ['connected', 'responseTimeMs'],
  tls: ['connected', 'responseTimeMs', 'certExpiresInDays'],
};

/** Which subjects a probe of this type observes. */
export function conditionSubjectsFor(type: ProbeType): readonly ConditionSubject[] {
  return SUBJECTS_BY_TYPE[type];
}

const ALL_SUBJECTS: readonly ConditionSubject[] = [
  'status',
  'responseTimeMs',
  'body',
  'json',
  'certExpiresInDays',
  'connected',
];
const COMPARISON_OPERATORS: readonly ComparisonOperator[] = ['==', '!=', '<=', '>=', '<', '>'];
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const INDEX = /0|[1-9][0-9]*/y;

// ---------------------------------------------------------------------------------------------------- parsing

class Parser {
  private pos = 0;
  /** The last token read, for "expected X after 'Y'" messages. */
  private last = '';

  constructor(private readonly text: string) {}

  parse(): Condition {
    this.skipSpace();
    const start = this.pos;
    const subject = this.match(WORD);
    if (subject === undefined || !(ALL_SUBJECTS as readonly string[]).includes(subject)) {
      throw new ConditionSyntaxError(
        `expected a subject (${ALL_SUBJECTS.join(', ')}) at ${start}${subject === undefined ? '' : `, found '${subject}'`}`,
        start,
      );
    }
    this.last = subject;
    const condition = this.rest(subject as ConditionSubject);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail('the end of the condition');
    return condition;
  }

  private rest(subject: ConditionSubject): Condition {
    switch (subject) {
      case 'status': {
        const operator = this.operator(
          [...COMPARISON_OPERATORS, 'in'],
          'an operator (==, !=, <, <=, >, >=, in)',
        );
        if (operator !== 'in') return { subject, operator, value: this.statusCode() };
        return { subject, operator, values: this.statusList() };
      }
      case 'responseTimeMs':
      case 'certExpiresInDays': {
        const operator = this.operator(COMPARISON_OPERATORS, 'an operator (==, !=, <, <=, >, >=)');
        if (subject === 'certExpiresInDays') return { subject, operator, value: this.number('a number') };
        this.skipSpace();
        const [at, after] = [this.pos, this.last];
        const value = this.number('a non-negative number');
        if (value < 0) this.fail('a non-negative number', at, after);
        return { subject, operator, value };
      }
      case 'body': {
        const operator = this.operator(['contains', '!contains'], "'contains' or '!contains'");
        return { subject, operator, value: this.string() };
      }
      case 'json': {
        const path = this.path();
        const operator = this.operator(COMPARISON_OPERATORS, 'an operator (==, !=, <, <=, >, >=)');
        if (operator === '==' || operator === '!=') return { subject, path, operator, value: this.scalar() };
        return { subject, path, operator, value: this.number('a number') };
      }
      case 'connected': {
        const operator = this.operator(['==', '!='], "'==' or '!='");
        this.skipSpace();
        const at = this.pos;
        const word = this.match(WORD);
        if (word !== 'true' && word !== 'false') this.fail('true or false', at);
        this.last = word;
        return { subject, operator, value: word === 'true' };
      }
    }
  }

  private operator<T extends string>(allowed: readonly T[], expected: string): T {
    this.skipSpace();
    for (const op of allowed) {
      if (!this.text.startsWith(op, this.pos)) continue;
      // Keywords end at a word boundary: `status inx` is not `in`.
      const next = this.text[this.pos + op.length] ?? '';
      if (/[A-Za-z]$/.test(op) && /[A-Za-z0-9_]/.test(next)) continue;
      this.pos += op.length;
      this.last = op;
      return op;
    }
    return this.fail(expected);
  }

  private number(expected: string): number {
    this.skipSpace();
    const at = this.pos;
    const text = this.match(NUMBER);
    if (text === undefined) return this.fail(expected);
    const value = Number(text);
    if (!Number.isFinite(value)) this.fail(`a finite number`, at);
    this.last = text;
    return value === 0 ? 0 : value; // -0 would not survive formatCondition's round trip
  }

  private statusCode(): number {
    const expected = 'a status code (an integer from 100 to 599)';
    this.skipSpace();
    const [at, after] = [this.pos, this.last];
    const value = this.number(expected);
    if (!Number.isInteger(value) || value < 100 || value > 599) this.fail(expected, at, after);
    return value;
  }

  private statusList(): number[] {
    this.expectChar('[', "'['");
    const values = [this.statusCode()];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === ']') {
        this.pos += 1;
        this.last = ']';
        return values;
      }
      this.expectChar(',', "',' or ']'");
      if (values.length >= MAX_LIST_VALUES) this.fail(`at most ${MAX_LIST_VALUES} status codes`);
      values.push(this.statusCode());
    }
  }

  private string(): string {
    this.skipSpace();
    const at = this.pos;
    if (this.text[at] !== '"') return this.fail('a "string"');
    let end = at + 1;
    while (end < this.text.length && this.text[end] !== '"') end += this.text[end] === '\\' ? 2 : 1;
    if (end >= this.text.length) {
      throw new ConditionSyntaxError(`expected a closing '"' for the string at ${at}`, at);
    }
    const literal = this.text.slice(at, end + 1);
    let value: unknown;
    try {
      value = JSON.parse(literal);
    } catch {
      throw new ConditionSyntaxError(
        `expected a JSON string (escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) at ${at}`,
        at,
      );
    }
    this.pos = end + 1;
    this.last = literal.length > 20 ? `${literal.slice(0, 19)}…` : literal;
    return value as string;
  }

  private scalar(): JsonScalar {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number('a number');
    const at = this.pos;
    const word = this.match(WORD);
    if (word === 'true' || word === 'false' || word === 'null') {
      this.last = word;
      return word === 'null' ? null : word === 'true';
    }
    return this.fail('a value (a number, a "string", true, false or null)', at);
  }

  private path(): JsonPathSegment[] {
    this.skipSpace();
    if (this.text[this.pos] !== '$') return this.fail("a JSONPath starting with '$'");
    this.pos += 1;
    this.last = '$';
    const path: JsonPathSegment[] = [];
    for (;;) {
      const c = this.text[this.pos];
      if (c !== '.' && c !== '[') return path;
      if (path.length >= MAX_PATH_SEGMENTS) this.fail(`at most ${MAX_PATH_SEGMENTS} path segments`);
      this.pos += 1;
      this.last = c;
      if (c === '.') {
        const name = this.match(WORD);
        if (name === undefined) this.fail('a member name ([A-Za-z_][A-Za-z0-9_]*, or use ["name"])');
        path.push(name);
        this.last = name;
        continue;
      }
      if (this.text[this.pos] === '"') {
        path.push(this.string());
      } else {
        const index = this.match(INDEX);
        if (index === undefined) this.fail('an index or a "quoted name"');
        path.push(Number(index));
        this.last = index;
      }
      if (this.text[this.pos] !== ']') this.fail("']'");
      this.pos += 1;
      this.last = ']';
    }
  }

  private expectChar(c: string, expected: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== c) this.fail(expected);
    this.pos += 1;
    this.last = c;
  }

  private match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  private skipSpace(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos += 1;
  }

  private fail(expected: string, at = this.pos, after = this.last): never {
    throw new ConditionSyntaxError(`expected ${expected} after '${after}' at ${at}`, at);
  }
}

/** Parses one condition; throws ConditionSyntaxError naming what was expected and where. */
export function parseCondition(text: string): Condition {
  if (text.length > MAX_CONDITION_LENGTH) {
    throw new ConditionSyntaxError(
      `expected at most ${MAX_CONDITION_LENGTH} characters, found ${text.length}`,
      MAX_CONDITION_LENGTH,
    );
  }
  return new Parser(text).parse();
}

// ------------------------------------------------------------------------------------------------- formatting

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function formatPath(path: readonly JsonPathSegment[]): string {
  let out = '$';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += NAME.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function formatValue(value: JsonScalar): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Canonical text: single spaces, JSON literals; `parseCondition(formatCondition(c))` equals `c`. */
export function formatCondition(c: Condition): string {
  switch (c.subject) {
    case 'status':
      return c.operator === 'in' ? `status in [${c.values.join(', ')}]` : `status ${c.operator} ${c.value}`;
    case 'json':
      return `json ${formatPath(c.path)} ${c.operator} ${formatValue(c.value)}`;
    default:
      return `${c.subject} ${c.operator} ${formatValue(c.value)}`;
  }
}

// ------------------------------------------------------------------------------------------------- evaluation

const NEGATED: Record<ComparisonOperator, ComparisonOperator> = {
  '==': '!=',
  '!=': '==',
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
};

function compare(actual: number, operator: ComparisonOperator, expected: number): boolean {
  switch (operator) {
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '<':
      return actual < expected;
    case '<=':
      return actual <= expected;
    case '>':
      return actual > expected;
    case '>=':
      return actual >= expected;
  }
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** At most `max` characters of `text`, `…` when cut (never splitting a surrogate pair). */
function shorten(text: string, max = DETAIL_BODY_CHARS): string {
  if (text.length <= max) return text;
  const cut = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, cut)}…`;
}

/** At most `max` characters of `text`, JSON-quoted, `…` after the quotes when cut. */
function clip(text: string, max = DETAIL_BODY_CHARS): string {
  return excerpt(text, 0, max);
}

/** A probe error for a detail: redacted, at most DETAIL_ERROR_CHARS characters, JSON-quoted. */
const clipError = (error: string) => clip(redactCredentials(error), DETAIL_ERROR_CHARS);

/** At most `max` characters of `text` from `start`, JSON-quoted, `…` marking what was left out. */
function excerpt(text: string, start: number, max = DETAIL_BODY_CHARS): string {
  let from = start;
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from += 1;
  let to = Math.min(text.length, from + max);
  if (to < text.length && isHighSurrogate(text.charCodeAt(to - 1))) to -= 1;
  return `${from > 0 ? '…' : ''}${JSON.stringify(text.slice(from, to))}${to < text.length ? '…' : ''}`;
}

/** Why a subject has no observed value: `status unavailable: not connected ("connect ECONNREFUSED ...")`. */
function unavailable(subject: string, obs: ProbeObservation, fallback?: string): ConditionResult {
  const error = obs.error ? clipError(obs.error) : undefined;
  let reason: string;
  if (!obs.connected) reason = `: not connected${error ? ` (${error})` : ''}`;
  else if (error) reason = `: ${error}`;
  else reason = fallback ? `: ${fallback}` : '';
  return { ok: false, detail: `${subject} unavailable${reason}` };
}

function numeric(
  label: string,
  actual: number,
  operator: ComparisonOperator,
  expected: number,
  rendered = String(actual),
): ConditionResult {
  const ok = compare(actual, operator, expected);
  return { ok, detail: `${label} ${rendered} ${ok ? operator : NEGATED[operator]} ${expected}` };
}

type Parsed = { ok: true; value: unknown } | { ok: false };

/** The body parsed at most once per observation, whatever the number of json conditions. */
class JsonCache {
  private parsed: Parsed | undefined;
  constructor(private readonly body: string) {}
  get(): Parsed {
    if (this.parsed === undefined) {
      try {
        this.parsed = { ok: true, value: JSON.parse(this.body) as unknown };
      } catch {
        this.parsed = { ok: false };
      }
    }
    return this.parsed;
  }
}

function lookup(root: unknown, path: readonly JsonPathSegment[]): { found: boolean; value?: unknown } {
  let node = root;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(node) || segment >= node.length) return { found: false };
      node = node[segment] as unknown;
    } else {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment)) {
        return { found: false };
      }
      node = (node as Record<string, unknown>)[segment];
    }
  }
  return { found: true, value: node };
}

function evaluateWith(
  c: Condition,
  obs: ProbeObservation,
  json: () => JsonCache | undefined,
): ConditionResult {
  if (c.subject === 'connected') {
    const ok = (obs.connected === c.value) === (c.operator === '==');
    const because = !obs.connected && obs.error ? `: ${clipError(obs.error)}` : '';
    return {
      ok,
      detail: `connected ${obs.connected} ${ok ? c.operator : NEGATED[c.operator]} ${c.value}${ok ? '' : because}`,
    };
  }
  // Without a connection nothing else was observed (see the header: not even a response time).
  if (!obs.connected) return unavailable(c.subject, obs);
  switch (c.subject) {
    case 'status': {
      if (obs.status === undefined) return unavailable('status', obs);
      if (c.operator !== 'in') return numeric('status', obs.status, c.operator, c.value);
      const ok = c.values.includes(obs.status);
      return { ok, detail: `status ${obs.status} ${ok ? 'in' : 'not in'} [${c.values.join(', ')}]` };
    }
    case 'responseTimeMs':
      return numeric('responseTimeMs', obs.responseTimeMs, c.operator, c.value);
    case 'certExpiresInDays':
      if (obs.certExpiresInDays === undefined) return unavailable(c.subject, obs, 'no TLS certificate');
      return numeric(c.subject, obs.certExpiresInDays, c.operator, c.value);
    case 'body': {
      if (obs.body === undefined) return unavailable('body', obs);
      const at = obs.body.indexOf(c.value);
      if (c.operator === 'contains') {
        return at >= 0
          ? { ok: true, detail: `body contains ${clip(c.value)} at ${at}` }
          : {
              ok: false,
              detail: `body ${clip(safeBody(obs as ProbeObservation & { body: string }))} does not contain ${clip(c.value)}`,
            };
      }
      if (at < 0) return { ok: true, detail: `body does not contain ${clip(c.value)}` };
      // The text around the match, the match first: what an on-call reader needs to recognise the error. Found
      // again in the redacted body (the match itself may have been part of something redacted).
      const red = safeBody(obs as ProbeObservation & { body: string });
      const redAt = red.indexOf(c.value);
      return {
        ok: false,
        detail: `body contains ${clip(c.value)} at ${at}: ${excerpt(red, Math.max(0, redAt - 8))}`,
      };
    }
    case 'json': {
      const label = formatPath(c.path);
      const cache = json();
      if (cache === undefined) return unavailable('body', obs);
      const parsed = cache.get();
      if (!parsed.ok) return { ok: false, detail: 'body is not JSON' };
      const { found, value } = lookup(parsed.value, c.path);
      if (!found) return { ok: false, detail: `${label} not found` };
      // The value as JSON (`"DOWN"`, `{"a":1}`), which is body content: shortened like the body.
      const shown = shorten(redactCredentials(JSON.stringify(value)));
      if (c.operator === '==' || c.operator === '!=') {
        const ok = (value === c.value) === (c.operator === '==');
        return {
          ok,
          detail: `${label} ${shown} ${ok ? c.operator : NEGATED[c.operator]} ${formatValue(c.value)}`,
        };
      }
      if (typeof value !== 'number') return { ok: false, detail: `${label} ${shown} is not a number` };
      // The parser only pairs an ordering operator with a number; TypeScript does not narrow on `operator` here.
      return numeric(label, value, c.operator, c.value as number, shown);
    }
  }
}

/** Evaluates one condition against one observation. Never throws; a failure's detail says why. */
export function evaluateCondition(c: Condition, obs: ProbeObservation): ConditionResult {
  const cache = obs.body === undefined ? undefined : new JsonCache(obs.body);
  return evaluateWith(c, obs, () => cache);
}

const IMPLICIT: readonly Condition[] = [{ subject: 'connected', operator: '==', value: true }];

/**
 * All conditions in order, stopping at the first failure (its index and detail go to the cycle document).
 * An empty list (the schema requires at least one condition) means `connected == true`, as if written.
 */
export function evaluateAll(listed: readonly Condition[], obs: ProbeObservation): Evaluation {
  const conditions = listed.length === 0 ? IMPLICIT : listed;
  let cache: JsonCache | undefined;
  const json = () => (obs.body === undefined ? undefined : (cache ??= new JsonCache(obs.body)));
  for (const [index, condition] of conditions.entries()) {
    const result = evaluateWith(condition, obs, json);
    if (!result.ok) return { ok: false, detail: result.detail, index, condition };
  }
  return { ok: true, detail: `${conditions.length} condition${conditions.length === 1 ? '' : 's'} passed` };
}
