// Schema tests: the ValidationError an invalid document is refused with.
import { parseOrThrow } from '../../functions/src/platform/validation';
import { ValidationError } from '../../functions/src/platform/domain/errors';

// zod types come from functions/node_modules (the root holds zod 3): take the schema type from parseOrThrow.
export function refusal(
  schema: Parameters<typeof parseOrThrow>[0],
  value: unknown,
  subject: string,
): ValidationError {
  try {
    parseOrThrow(schema, value, subject);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error(`expected ${subject} to be refused`);
}
