export declare const DEMO_MAX_RESPONSE_MS: number;
export declare function demoHealthChecks(where: {
  firestoreHost: string;
  webhookUrl: string;
}): Record<string, Record<string, unknown> & { conditions: string[] }>;
