/** The schemas module, loaded on first call (see config/schemas/index.ts for why). */
export function loadSchemas(): Promise<typeof import('./schemas/index.js')> {
  return import('./schemas/index.js');
}
