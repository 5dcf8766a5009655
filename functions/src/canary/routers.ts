// Traffic routers for canary rollouts, behind one interface: `firestore-flag` sets `flags/{flag}.rolloutPercent`
// (which the platform's apps read) and `cloud-run` splits a Cloud Run service's traffic (a 2nd-gen function is one)
// between its baseline and canary revisions through the v2 Admin API. Every weight change is confirmed by reading
// it back. Locally CLOUD_RUN_EMULATOR_HOST (host:port) points the real Cloud Run clients at the gRPC stand-in in
// emulators/cloud-run/.
import { FLAGS } from '../platform/collections';
import type { Firestore } from 'firebase-admin/firestore';
import type { protos, v2 } from '@google-cloud/run';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { isReservedFlag } from '../flags/domain/flags';
import { db, transact } from '../platform/firestore';
import { logger } from '../platform/logger';
import { emulatorClientOptions } from '../platform/secret-manager';

export interface TrafficRouter {
  /**
   * Routes `weight` percent (an integer 0..100) to the canary and confirms it by reading it back. Throws
   * ValidationError when the route cannot work (bad weight, missing flag or revision) and TransientError when the
   * change failed or the read-back does not show it.
   */
  setCanaryWeight(weight: number): Promise<{ weight: number }>;
  /** The canary's share as read now. */
  currentWeight(): Promise<number>;
  /** Routers that choose between revisions: the pair they route between (resolved once). */
  revisions?(): Promise<{ baseline: string; canary: string }>;
}

function checkWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
    throw new ValidationError(`canary weight must be an integer from 0 to 100, got ${weight}`, 'weight');
  }
}

// ---------------------------------------------------------------------------------------------------------
// firestore-flag
// ---------------------------------------------------------------------------------------------------------

/**
 * Sets `flags/{flag}.rolloutPercent`, leaving the flag's other fields alone. The flag must exist and stay valid
 * under the flag schema: onFlagWritten judges this write like any other, and would revert an invalid document.
 * That trigger audits the write by its Firestore auth context (a service account in production, so actor type
 * `system`), not by `actor`, which only labels this router's own logs.
 */
export class FirestoreFlagRouter implements TrafficRouter {
  constructor(
    readonly flag: string,
    readonly actor: { type: 'system'; id: string },
    private readonly firestore: () => Firestore = db,
  ) {}

  private async checkFlagKey(): Promise<void> {
    const { FLAG_KEY_PATTERN } = await import('../flags/schema.js');
    if (!FLAG_KEY_PATTERN.test(this.flag)) {
      throw new ValidationError(`flag key '${this.flag}' must match ${FLAG_KEY_PATTERN.source}`, 'flag');
    }
    if (isReservedFlag(this.flag)) {
      throw new ValidationError(
        `flag '${this.flag}' is reserved for fireops itself and cannot carry a canary`,
        'flag',
      );
    }
  }

  private ref() {
    return this.firestore().collection(FLAGS).doc(this.flag);
  }

  async setCanaryWeight(weight: number): Promise<{ weight: number }> {
    checkWeight(weight);
    await this.checkFlagKey();
    const { flagSchema, formatZodError } = await import('../flags/schema.js');
    const ref = this.ref();
    let changed = false;
    try {
      await transact(async (tx) => {
        const snap = await tx.get(ref);
        const current = snap.data();
        if (!snap.exists || current === undefined) {
          throw new ValidationError(
            `flag '${this.flag}' does not exist: create flags/${this.flag} (enabled, rolloutPercent, description) ` +
              'before routing a canary through it',
            'flag',
          );
        }
        const parsed = flagSchema.safeParse({ ...current, rolloutPercent: weight });
        if (!parsed.success) {
          const { message, field } = formatZodError(parsed.error, `flags/${this.flag}`);
          throw new ValidationError(`${message} (fix the flag before routing through it)`, field);
        }
        changed = current.rolloutPercent !== weight;
        // update(), not set(): enabled, description and expiresAt stay as the admins left them.
        if (changed) tx.update(ref, { rolloutPercent: weight });
      }, this.firestore());
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new TransientError(
        `flags/${this.flag}: rolloutPercent could not be set to ${weight}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    const readBack = await this.currentWeight();
    if (readBack !== weight) {
      throw new TransientError(
        `flags/${this.flag}: rolloutPercent reads ${readBack} after setting ${weight}`,
      );
    }
    logger({ flag: this.flag }).info('canary weight set', {
      router: 'firestore-flag',
      weight,
      changed,
      actor: this.actor,
    });
    return { weight };
  }

  async currentWeight(): Promise<number> {
    let snap;
    try {
      snap = await this.ref().get();
    } catch (err) {
      throw new TransientError(`flags/${this.flag} could not be read: ${String(err)}`, { cause: err });
    }
    const percent: unknown = snap.data()?.rolloutPercent;
    if (!snap.exists) throw new ValidationError(`flag '${this.flag}' does not exist`, 'flag');
    if (typeof percent !== 'number') {
      throw new ValidationError(`flags/${this.flag}.rolloutPercent is not a number`, 'rolloutPercent');
    }
    return percent;
  }
}

// ---------------------------------------------------------------------------------------------------------
// cloud-run
// ---------------------------------------------------------------------------------------------------------

type ServicesClient = InstanceType<typeof v2.ServicesClient>;
type RevisionsClient = InstanceType<typeof v2.RevisionsClient>;
type Service = protos.google.cloud.run.v2.IService;
type TrafficTarget = protos.google.cloud.run.v2.ITrafficTarget;

export interface CloudRunClients {
  services: ServicesClient;
  revisions: RevisionsClient;
}

let clients: CloudRunClients | undefined;

/** The Cloud Run v2 clients, constructed on first use (one pair per process). */
export function cloudRunClients(projectId: string, env: NodeJS.ProcessEnv = process.env): CloudRunClients {
  if (!clients) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const run = require('@google-cloud/run') as typeof import('@google-cloud/run');
    const options = { projectId, ...emulatorClientOptions(env.CLOUD_RUN_EMULATOR_HOST) };
    clients = {
      services: new run.v2.ServicesClient(options),
      revisions: new run.v2.RevisionsClient(options),
    };
  }
  return clients;
}

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
/** Decoded responses carry enum numbers; requests may use names. */
const isType = (type: unknown, name: typeof REVISION | typeof LATEST) =>
  type === name || type === (name === REVISION ? 2 : 1);

/**
 * gRPC codes a retry cannot fix: the request is wrong. PERMISSION_DENIED and UNAUTHENTICATED are not among them:
 * a missing grant is fixed by an operator and the next tick succeeds (issue 12.4, platform/domain/errors.ts).
 */
const PERMANENT = new Set([3, 5, 9]); // INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION

function runError(err: unknown, what: string): Error {
  if (err instanceof ValidationError || err instanceof TransientError) return err;
  const code = (err as { code?: number }).code;
  const message = `${what}: ${(err as Error).message}`;
  return code !== undefined && PERMANENT.has(code)
    ? new ValidationError(message)
    : new TransientError(message, { cause: err });
}

const shortRevision = (name: string) => name.slice(name.lastIndexOf('/') + 1);

/** The split being served (`trafficStatuses`), by short revision name; LATEST resolved to the latest ready one. */
export function servedSplit(service: Service): Map<string, number> {
  const split = new Map<string, number>();
  const latest = shortRevision(service.latestReadyRevision ?? '');
  for (const s of service.trafficStatuses ?? []) {
    const revision = isType(s.type, LATEST) && !s.revision ? latest : shortRevision(s.revision ?? '');
    split.set(revision, (split.get(revision) ?? 0) + (s.percent ?? 0));
  }
  return split;
}

export interface CloudRunRouterOptions {
  project: string;
  region: string;
  service: string;
  /** Default: the revision serving the most traffic other than the canary, when first asked. */
  baselineRevision?: string;
  /** Default: the service's latest ready revision, when first asked. */
  canaryRevision?: string;
}

/**
 * Splits traffic between two revisions of a Cloud Run service: `[{canary, w}, {baseline, 100 - w}]`. Untagged 0%
 * entries are dropped (Cloud Run would serve nothing through them); tags are kept, at 0% for revisions outside the
 * split, so tag URLs keep working. The update is a read-modify-write guarded by the service's etag, its operation
 * is awaited, and the served split (`trafficStatuses`) is read back and compared.
 */
export class CloudRunRouter implements TrafficRouter {
  private resolved: { baseline: string; canary: string } | undefined;

  constructor(
    private readonly opts: CloudRunRouterOptions,
    private readonly getClients: () => CloudRunClients = () => cloudRunClients(opts.project),
  ) {}

  get serviceName(): string {
    return `projects/${this.opts.project}/locations/${this.opts.region}/services/${this.opts.service}`;
  }

  private async getService(): Promise<Service> {
    try {
      const [service] = await this.getClients().services.getService({ name: this.serviceName });
      return service;
    } catch (err) {
      throw runError(err, `Cloud Run service ${this.serviceName} could not be read`);
    }
  }

  /**
   * The baseline and canary revisions (short names), resolved once: given ones are checked to exist, missing ones
   * derived from the service. A controller should persist them, since a derived baseline changes meaning once the
   * canary serves everything.
   */
  async revisions(): Promise<{ baseline: string; canary: string }> {
    if (this.resolved) return this.resolved;
    const service = await this.getService();
    const canary = this.opts.canaryRevision ?? shortRevision(service.latestReadyRevision ?? '');
    if (!canary) throw new ValidationError(`${this.serviceName} has no ready revision to use as the canary`);
    let baseline = this.opts.baselineRevision;
    if (!baseline) {
      const others = [...servedSplit(service)]
        .filter(([r, p]) => r !== canary && p > 0)
        .sort((a, b) => b[1] - a[1]);
      baseline = others[0]?.[0];
      if (!baseline) {
        throw new ValidationError(
          `${this.serviceName}: no revision other than the canary ${canary} serves traffic; name the baseline`,
          'baselineRevision',
        );
      }
    }
    if (baseline === canary) {
      throw new ValidationError(`${this.serviceName}: baseline and canary are the same revision ${canary}`);
    }
    for (const revision of [baseline, canary]) {
      try {
        await this.getClients().revisions.getRevision({ name: `${this.serviceName}/revisions/${revision}` });
      } catch (err) {
        throw runError(err, `revision ${revision} of ${this.serviceName}`);
      }
    }
    this.resolved = { baseline, canary };
    return this.resolved;
  }

  async currentWeight(): Promise<number> {
    const { canary } = await this.revisions();
    return servedSplit(await this.getService()).get(canary) ?? 0;
  }

  async setCanaryWeight(weight: number): Promise<{ weight: number }> {
    checkWeight(weight);
    const { baseline, canary } = await this.revisions();
    const want = new Map([
      [canary, weight],
      [baseline, 100 - weight],
    ]);
    const current = await this.getService();
    if (
      !matches(servedSplit(current), want) ||
      !sameTargets(current.traffic ?? [], splitTargets(current, want))
    ) {
      try {
        const [operation] = await this.getClients().services.updateService({
          // The whole service with its etag: a concurrent change makes this ABORTED (transient) instead of lost.
          service: { ...current, traffic: splitTargets(current, want) },
        });
        await operation.promise();
      } catch (err) {
        throw runError(err, `traffic of ${this.serviceName} could not be set to ${describe(want)}`);
      }
    }
    const served = servedSplit(await this.getService());
    if (!matches(served, want)) {
      throw new TransientError(
        `${this.serviceName} serves ${describe(served)} after setting ${describe(want)}`,
      );
    }
    logger({ service: this.serviceName }).info('canary weight set', {
      router: 'cloud-run',
      weight,
      canary,
      baseline,
    });
    return { weight };
  }
}

/** The new `traffic` for `want`, keeping existing tags (see CloudRunRouter). */
function splitTargets(service: Service, want: Map<string, number>): TrafficTarget[] {
  const targets: TrafficTarget[] = [];
  const tagged = (service.traffic ?? []).filter((t) => t.tag);
  const placed = new Set<string>();
  for (const [revision, percent] of want) {
    const tag = tagged.find(
      (t) => isType(t.type, REVISION) && shortRevision(t.revision ?? '') === revision,
    )?.tag;
    if (percent === 0 && !tag) continue;
    targets.push({ type: REVISION, revision, percent, ...(tag ? { tag } : {}) });
    if (tag) placed.add(tag);
  }
  for (const t of tagged) {
    if (placed.has(t.tag!)) continue;
    targets.push({
      type: isType(t.type, LATEST) ? LATEST : REVISION,
      ...(isType(t.type, LATEST) ? {} : { revision: shortRevision(t.revision ?? '') }),
      percent: 0,
      tag: t.tag!,
    });
  }
  return targets;
}

function sameTargets(a: TrafficTarget[], b: TrafficTarget[]): boolean {
  const key = (t: TrafficTarget) =>
    `${isType(t.type, LATEST) ? 'latest' : shortRevision(t.revision ?? '')}:${t.percent ?? 0}:${t.tag ?? ''}`;
  return a.map(key).sort().join(',') === b.map(key).sort().join(',');
}

/** Whether `served` gives exactly the percents of `want` (and nothing to any other revision). */
function matches(served: Map<string, number>, want: Map<string, number>): boolean {
  for (const [revision, percent] of served) if (percent !== (want.get(revision) ?? 0)) return false;
  for (const [revision, percent] of want) if ((served.get(revision) ?? 0) !== percent) return false;
  return true;
}

function describe(split: Map<string, number>): string {
  return [...split].map(([r, p]) => `${r}=${p}%`).join(', ') || 'nothing';
}
