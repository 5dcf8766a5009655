// Collection and audit stream names of the canary controller (canary/controller.ts), in a module of
// their own so the trigger wiring (canary/functions.ts) can name them without loading the controller at cold start.
export const ROLLOUTS = 'rollouts';
export const CANARY_POLICIES = 'canaryPolicies';
export const CANARY_STREAM = 'canary';
