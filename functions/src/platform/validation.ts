// One way to validate anything that crosses a boundary (admin-edited documents, messages, payloads), with
// messages that name the field: `field 'steps[2]' must be <= 100`.
import type { z } from 'zod';
import { ValidationError } from './domain/errors';

type Issue = z.core.$ZodIssue;

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

function describeIssue(issue: Issue): string {
  switch (issue.code) {
    case 'too_big':
      return `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'too_small':
      return `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' items' : ''}`;
    case 'invalid_type': {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === 'undefined') return `is required (${issue.expected})`;
      const expected = issue.expected === 'int' ? 'integer' : issue.expected;
      return `must be ${/^[aeiou]/.test(expected) ? 'an' : 'a'} ${expected}${received ? `, got ${received}` : ''}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_format':
      // A schema's own wording ("must be a Cloud Storage bucket name ...") says more than the format's name.
      return issue.message && !/^Invalid/.test(issue.message)
        ? issue.message
        : `must be a valid ${issue.format}`;
    default:
      return issue.message === 'Invalid input'
        ? 'is not valid'
        : issue.message.replace(/^Invalid input: /, 'must be ');
  }
}

/** `field 'a.b[2]' must be <= 100; field 'c' is required (string)`; the first offending field is returned too. */
export function formatZodError(error: z.ZodError, subject?: string): { message: string; field: string } {
  const parts = error.issues.map((issue) => {
    const field = fieldPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (field ? `${field}.${k}` : k));
      return {
        field: keys[0] ?? field,
        text: `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`,
      };
    }
    return {
      field,
      text: field ? `field '${field}' ${describeIssue(issue)}` : `document ${describeIssue(issue)}`,
    };
  });
  const message = parts.map((p) => p.text).join('; ');
  return { message: subject ? `${subject}: ${message}` : message, field: parts[0]?.field ?? '' };
}

/** Parses or throws a ValidationError naming the first offending field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { message, field } = formatZodError(result.error, subject);
  throw new ValidationError(message, field);
}
