// @ts-check
// The Firestore emulator's REST API, as the Firestore console uses it: `Authorization: Bearer owner` acts as an
// admin (rules bypassed). Used to seed demo data and, in tests, to make edits the way an admin does.

/** @typedef {Record<string, any>} RestValue A Firestore REST `Value` (`{ stringValue: 'x' }`, `{ mapValue: ... }`...). */

/**
 * Plain JSON -> Firestore REST `Value`. ISO timestamps stay strings unless wrapped as `{ "$timestamp": iso }`.
 * @param {any} v
 * @returns {RestValue}
 */
export function toValue(v) {
  if (v === null || v === undefined) return { nullValue: null };
  if (typeof v === 'boolean') return { booleanValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(toValue) } };
  if (typeof v === 'object' && typeof v.$timestamp === 'string') return { timestampValue: v.$timestamp };
  return { mapValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toValue(x)])) } };
}

/**
 * Firestore REST `Value` -> plain JSON (timestamps as `{ $timestamp: iso }`, references as their path).
 * @param {RestValue} v
 * @returns {unknown}
 */
export function fromValue(v) {
  if ('nullValue' in v) return null;
  if ('booleanValue' in v) return v.booleanValue;
  if ('integerValue' in v) return Number(v.integerValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('stringValue' in v) return v.stringValue;
  if ('timestampValue' in v) return { $timestamp: v.timestampValue };
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(fromValue);
  if ('mapValue' in v) return fromFields(v.mapValue.fields ?? {});
  if ('referenceValue' in v) return v.referenceValue;
  return v;
}

/**
 * A document's REST `fields` -> a plain object.
 * @param {Record<string, RestValue>} fields
 * @returns {Record<string, unknown>}
 */
export function fromFields(fields) {
  return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, fromValue(x)]));
}

/**
 * @typedef {object} FirestoreRest
 * @property {(path: string, data: Record<string, unknown>) => Promise<unknown>} set Replaces the whole document
 *   (what saving in the console does).
 * @property {(path: string) => Promise<(Record<string, any> & { __updateTime: string }) | undefined>} get The
 *   document as plain JSON with its update time, or undefined when there is none.
 * @property {(path: string) => Promise<unknown>} delete
 * @property {() => Promise<void>} clear Deletes every document of the project (the emulator's own endpoint).
 */

/**
 * A console-like client of the Firestore emulator for `project`.
 * @param {{ host?: string, project: string }} options `host`: the emulator's `host:port` (default
 *   FIRESTORE_EMULATOR_HOST).
 * @returns {FirestoreRest}
 */
export function firestoreRest({ host = process.env.FIRESTORE_EMULATOR_HOST, project }) {
  if (!host) throw new Error('FIRESTORE_EMULATOR_HOST is not set');
  const base = `http://${host}/v1/projects/${project}/databases/(default)/documents`;
  const headers = { Authorization: 'Bearer owner', 'content-type': 'application/json' };
  /** @param {string} method @param {string} url @param {unknown} [body] @returns {Promise<any>} */
  const call = async (method, url, body) => {
    const res = await fetch(url, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) {
      throw Object.assign(new Error(`${method} ${url}: ${res.status} ${text}`), { status: res.status });
    }
    return text ? JSON.parse(text) : {};
  };
  return {
    /** Replaces the whole document (what saving in the console does). */
    async set(path, data) {
      return call('PATCH', `${base}/${path}`, { fields: toValue(data).mapValue.fields });
    },
    async get(path) {
      try {
        const doc = await call('GET', `${base}/${path}`);
        return { ...fromFields(doc.fields ?? {}), __updateTime: doc.updateTime };
      } catch (err) {
        if (/** @type {{ status?: number }} */ (err).status === 404) return undefined;
        throw err;
      }
    },
    async delete(path) {
      return call('DELETE', `${base}/${path}`);
    },
    /** Deletes every document of the project (the emulator's own endpoint). */
    async clear() {
      // The emulator answers 409 (ABORTED) while a transaction of a trigger still
      // holds a lock; that lock is released within seconds, so retry for a while.
      let last = '';
      for (let attempt = 0; attempt < 40; attempt += 1) {
        const res = await fetch(
          `http://${host}/emulator/v1/projects/${project}/databases/(default)/documents`,
          { method: 'DELETE' },
        );
        if (res.ok) return;
        last = `${res.status} ${await res.text().catch(() => '')}`.trim();
        if (res.status !== 409) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`clear failed: ${last}`);
    },
  };
}

/**
 * Writes `{ collection: { docId: data } }` seed files; resolves with the number of documents written.
 * @param {FirestoreRest} rest
 * @param {Record<string, Record<string, Record<string, unknown>>>} seed
 * @returns {Promise<number>}
 */
export async function seedFirestore(rest, seed) {
  let n = 0;
  for (const [collection, docs] of Object.entries(seed)) {
    for (const [id, data] of Object.entries(docs)) {
      await rest.set(`${collection}/${id}`, data);
      n += 1;
    }
  }
  return n;
}
