export function toValue(v: unknown): unknown;
export function fromValue(v: unknown): unknown;
export function fromFields(fields: Record<string, unknown>): Record<string, unknown>;
export interface FirestoreRest {
  set(path: string, data: Record<string, unknown>): Promise<unknown>;
  get(path: string): Promise<(Record<string, any> & { __updateTime: string }) | undefined>;
  delete(path: string): Promise<unknown>;
  clear(): Promise<void>;
}
export function firestoreRest(opts?: { host?: string; project: string }): FirestoreRest;
export function seedFirestore(
  rest: FirestoreRest,
  seed: Record<string, Record<string, unknown>>,
): Promise<number>;
