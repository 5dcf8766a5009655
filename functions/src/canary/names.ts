// The canary's audit stream name, in a module of its own so commands.ts (loaded at cold start with the trigger
// wiring) can name it without loading the controller.
export const CANARY_STREAM = 'canary';
