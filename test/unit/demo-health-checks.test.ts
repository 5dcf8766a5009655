// The demo health checks `npm start` seeds must not open incidents on a busy machine (issue 17.7).
import { describe, expect, it } from 'vitest';
import { healthCheckSchema } from '../../functions/src/health/schema';
import { evaluateAll, parseCondition } from '../../functions/src/health/domain/conditions';
import { demoHealthChecks } from '../../emulators/seed/health-checks.mjs';

const checks = demoHealthChecks({
  firestoreHost: '127.0.0.1:8080',
  webhookUrl: 'http://127.0.0.1:5001/demo-fireops/europe-west1/webhooks-githubWebhook',
});

describe('demo health checks', () => {
  it.each(Object.entries(checks))('%s is a valid check', (_id, check) => {
    expect(healthCheckSchema.safeParse(check).success).toBe(true);
  });

  it('a busy machine is up: Firestore answering in 3 s, a cold githubWebhook worker answering in 20 s', () => {
    const observations = {
      'firestore-emulator': { connected: true, status: 200, body: 'Ok', responseTimeMs: 3_000 },
      'github-webhook': { connected: true, status: 405, body: '{}', responseTimeMs: 20_000 },
    };
    for (const [id, obs] of Object.entries(observations)) {
      const check = healthCheckSchema.parse(checks[id]);
      // The probe waits long enough for the answer, and the answer passes every condition.
      expect(check.timeoutMs, id).toBeGreaterThan(obs.responseTimeMs);
      expect(evaluateAll(check.conditions.map(parseCondition), obs), id).toMatchObject({ ok: true });
    }
  });

  it('a blip is not an incident: several failed minutes in a row are', () => {
    for (const check of Object.values(checks)) {
      expect(healthCheckSchema.parse(check).failureThreshold).toBeGreaterThanOrEqual(5);
    }
  });
});
