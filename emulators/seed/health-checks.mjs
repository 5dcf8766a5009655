// @ts-check
// The demo health checks `npm start` writes (emulators/dev-session.mjs): the local suite probing itself.
// Tolerant on purpose (issue 17.7): on a busy machine the Firestore emulator can take seconds to answer and a
// function worker tens of seconds to load, which is not an outage of anything a demo shows. So: a generous
// latency condition, a probe timeout that outlasts a cold worker, and five failed minutes before an incident.
// Production checks should be stricter; these show the mechanics without crying wolf.

/** Slow enough to be "down" on any machine: a demo latency condition, not a service objective. */
export const DEMO_MAX_RESPONSE_MS = 5_000;

/**
 * The demo health checks by document id.
 * @param {{ firestoreHost: string, webhookUrl: string }} where `firestoreHost`: the Firestore emulator's
 *   `host:port`; `webhookUrl`: the githubWebhook function's URL.
 * @returns {Record<string, Record<string, unknown> & { conditions: string[] }>}
 */
export function demoHealthChecks({ firestoreHost, webhookUrl }) {
  const tolerant = { timeoutMs: 30_000, failureThreshold: 5, successThreshold: 2, tags: ['demo'] };
  return {
    'firestore-emulator': {
      name: 'Firestore emulator',
      type: 'http',
      target: `http://${firestoreHost}/`,
      conditions: ['status == 200', 'body contains "Ok"', `responseTimeMs < ${DEMO_MAX_RESPONSE_MS}`],
      ...tolerant,
      public: { name: 'Database', group: 'Platform' },
    },
    'github-webhook': {
      name: 'webhooks-githubWebhook refuses GET',
      type: 'http',
      target: webhookUrl,
      conditions: ['status == 405'],
      ...tolerant,
      public: { name: 'Release webhooks', group: 'Platform' },
    },
  };
}
