// functions/scripts/deploy.mjs (issue 12.3): dotenv completeness before anything runs, doctor before deploy,
// and the exact firebase-tools flags a non-interactive deploy needs.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployPlan, dotenvKeys, missingDotenvKeys, parseArgs } from '../../functions/scripts/deploy.mjs';

const plan = deployPlan;

describe('deploy.mjs', () => {
  it('runs fireops doctor first, through npx without installing, then firebase deploy --non-interactive --force', () => {
    const [doctor, deploy] = plan({ project: 'acme-ops-prod', dryRun: false });
    expect(doctor).toMatchObject({
      cmd: 'npx',
      args: ['--no', 'fireops', 'doctor', '--project', 'acme-ops-prod'],
    });
    expect(deploy!.args).toEqual([
      '--no',
      'firebase',
      'deploy',
      '--only',
      'functions,firestore',
      '--project',
      'acme-ops-prod',
      '--non-interactive',
      '--force',
    ]);
    expect(plan({ project: 'acme-ops-prod', dryRun: true })[1]!.args.at(-1)).toBe('--dry-run');
  });

  it.each([
    [[], /--project P is required/],
    [['--project'], /--project P is required/],
    [['--project', 'demo-fireops'], /demo project/],
    [['--project', 'p', '--only', 'functions'], /unknown argument '--only'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('reads --project P, --project=P and --dry-run', () => {
    const parse = parseArgs;
    expect(parse(['--project', 'acme-ops-prod'])).toEqual({ project: 'acme-ops-prod', dryRun: false });
    expect(parse(['--project=acme-ops-prod', '--dry-run'])).toEqual({
      project: 'acme-ops-prod',
      dryRun: true,
    });
  });

  it('names what .env.example lists and neither .env nor .env.<project> sets', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fireops-deploy-'));
    writeFileSync(path.join(dir, '.env.example'), '# c\nA=1\nB=x y\nC=3\n');
    const missing = missingDotenvKeys;
    expect(missing('acme-ops-prod', dir)).toEqual(['A', 'B', 'C']);
    writeFileSync(path.join(dir, '.env'), 'A=2\nC=\n');
    writeFileSync(path.join(dir, '.env.acme-ops-prod'), 'B=z\n');
    expect(missing('acme-ops-prod', dir)).toEqual(['C']); // an empty value is no value
    expect(missing('other-project', dir)).toEqual(['B', 'C']);
  });

  it('reads the real .env.example', () => {
    const keys = dotenvKeys(readFileSync(path.resolve(__dirname, '../../functions/.env.example'), 'utf8'));
    expect(keys.has('PROBE_REGIONS')).toBe(true);
    expect(keys.has('REGION')).toBe(true);
  });
});
