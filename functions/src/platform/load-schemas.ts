/** The schemas module, loaded on first call (see schemas.ts for why). */
export function loadSchemas(): Promise<typeof import('../schemas.js')> {
  return import('../schemas.js');
}
