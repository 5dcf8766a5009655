// Tests reach Firebase and Google Cloud packages through functions/node_modules, the same copies the functions
// use (a second copy at the root would be a second Firestore client, with its own settings and instances).
import { createRequire } from 'node:module';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
