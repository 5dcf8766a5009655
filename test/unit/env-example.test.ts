// Issue 12.3: functions/.env.example lists every param and deploy-shaping value of platform/params.ts, and the
// deploy-shaping values are validated at load with an error naming the variable.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeployConfigError, readDeployShape } from '../../functions/src/platform/params';

const ROOT = path.resolve(__dirname, '../..');
const PARAMS_SOURCE = readFileSync(path.join(ROOT, 'functions/src/platform/params.ts'), 'utf8');
const EXAMPLE = readFileSync(path.join(ROOT, 'functions/.env.example'), 'utf8');

/** Names declared with define*() and names read from the environment (`env.X`, `process.env.X`, `env['X']`). */
function declaredNames(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(
    /\bdefine(?:String|Int|Boolean|List|Float|Secret|JsonSecret)\(\s*['"]([A-Z0-9_]+)['"]/g,
  ))
    names.add(m[1]!);
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!);
  for (const m of source.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) names.add(m[1]!);
  // Set by Cloud Functions and firebase-tools, never by a deployment.
  names.delete('GCLOUD_PROJECT');
  return [...names].sort();
}

function exampleKeys(text: string): string[] {
  return text
    .split('\n')
    .map((l) => /^([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((k): k is string => k !== undefined);
}

describe('functions/.env.example', () => {
  it('finds the names params.ts declares and reads (the scan itself works)', () => {
    const names = declaredNames(PARAMS_SOURCE);
    expect(names).toEqual(
      expect.arrayContaining(['REGION', 'WEBHOOK_SECRET_ID', 'PROBE_REGIONS', 'ROTATION_TOPIC']),
    );
    expect(declaredNames("defineInt('A_B', {}); const x = process.env.C_D; env['E']")).toEqual([
      'A_B',
      'C_D',
      'E',
    ]);
  });

  it('lists every param and environment value of platform/params.ts, each once, with a comment above', () => {
    const keys = exampleKeys(EXAMPLE);
    const missing = declaredNames(PARAMS_SOURCE).filter((n) => !keys.includes(n));
    expect(missing, `add these to functions/.env.example: ${missing.join(', ')}`).toEqual([]);
    expect(keys.length).toBe(new Set(keys).size);
    const lines = EXAMPLE.split('\n');
    for (const key of keys) {
      const i = lines.findIndex((l) => l.startsWith(`${key}=`));
      expect(lines[i - 1], `${key} needs its meaning on the line above`).toMatch(/^#/);
    }
  });

  it('holds values the load-time validation accepts', () => {
    const env = Object.fromEntries(
      EXAMPLE.split('\n')
        .map((l) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
    expect(() => readDeployShape(env)).not.toThrow();
  });
});

describe('readDeployShape', () => {
  it('defaults PROBE_REGIONS to REGION alone, not to a fixed pair', () => {
    expect(readDeployShape({}).probeRegions).toEqual(['europe-west1']);
    expect(readDeployShape({ REGION: 'us-central1' }).probeRegions).toEqual(['us-central1']);
    expect(
      readDeployShape({ REGION: 'us-central1', PROBE_REGIONS: ' us-east1 , europe-west1 ' }).probeRegions,
    ).toEqual(['us-east1', 'europe-west1']);
    expect(readDeployShape({})).toMatchObject({
      rotationTopic: 'secret-rotation',
      exportSchedule: 'every day 02:00',
    });
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    [
      'a region id that is not one',
      { PROBE_REGIONS: 'europe-west1,europe-west' },
      'PROBE_REGIONS',
      /'europe-west' is not a region id/,
    ],
    ['an empty item', { PROBE_REGIONS: 'europe-west1,' }, 'PROBE_REGIONS', /'' is not a region id/],
    [
      'a duplicate',
      { PROBE_REGIONS: 'europe-west1,africa-south1,europe-west1' },
      'PROBE_REGIONS',
      /listed twice/,
    ],
    ['a bad REGION', { REGION: 'Europe West' }, 'REGION', /not a region id/],
    [
      'a topic name instead of an id',
      { ROTATION_TOPIC: 'projects/p/topics/t' },
      'ROTATION_TOPIC',
      /not a Pub\/Sub topic id/,
    ],
    ['a reserved topic', { ROTATION_TOPIC: 'google-things' }, 'ROTATION_TOPIC', /goog/],
    [
      'a schedule in neither syntax',
      { EXPORT_SCHEDULE: 'daily at 2' },
      'EXPORT_SCHEDULE',
      /neither unix-cron/,
    ],
  ])('refuses %s, naming the variable', (_name, env, variable, message) => {
    let caught: unknown;
    try {
      readDeployShape(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DeployConfigError);
    expect((caught as DeployConfigError).variable).toBe(variable);
    expect((caught as Error).message).toMatch(new RegExp(`^${variable}: `));
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toMatch(/functions\/\.env\.example/);
  });

  it.each(['0 2 * * *', 'every day 02:00', 'every 24 hours', 'every monday 09:00'])(
    'accepts the schedule %s',
    (s) => {
      expect(readDeployShape({ EXPORT_SCHEDULE: s }).exportSchedule).toBe(s);
    },
  );
});

describe('deployEnv: the dotenv files, as the deployed function sees them', () => {
  // firebase-tools discovers functions with only GCLOUD_PROJECT (and FIREBASE_CONFIG, HOME, PATH) set: the values
  // that shape the exports must come from the files, or .env.<projectId> would change nothing at deploy.
  it('reads functions/.env and .env.<GCLOUD_PROJECT>, the process environment winning', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { deployEnv } = await import('../../functions/src/platform/params');
    const dir = mkdtempSync(path.join(tmpdir(), 'fireops-env-'));
    writeFileSync(path.join(dir, '.env'), 'PROBE_REGIONS=us-east1\nEXPORT_SCHEDULE="every day 03:00"\n');
    writeFileSync(path.join(dir, '.env.acme-prod'), '# c\nPROBE_REGIONS=europe-west1,africa-south1\n');
    expect(readDeployShape(deployEnv({ GCLOUD_PROJECT: 'acme-prod' }, dir))).toMatchObject({
      probeRegions: ['europe-west1', 'africa-south1'],
      exportSchedule: 'every day 03:00',
    });
    expect(readDeployShape(deployEnv({}, dir)).probeRegions).toEqual(['us-east1']);
    expect(
      readDeployShape(deployEnv({ GCLOUD_PROJECT: 'acme-prod', PROBE_REGIONS: 'us-west1' }, dir))
        .probeRegions,
    ).toEqual(['us-west1']);
  });

  it('finds functions/ from the module (the demo project has two probe regions)', async () => {
    const { deployEnv } = await import('../../functions/src/platform/params');
    expect(readDeployShape(deployEnv({ GCLOUD_PROJECT: 'demo-fireops' })).probeRegions).toEqual([
      'europe-west1',
      'africa-south1',
    ]);
  });
});
