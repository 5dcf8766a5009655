export interface ScheduledFunction {
  id: string;
  schedule: string;
  timeZone: string;
  region?: string;
}
export function parseSchedule(
  schedule: string,
  timeZone?: string,
): { describe: string; next(afterMs: number): number };
export function findScheduledFunctions(indexJs: string): ScheduledFunction[];
export function scheduledRequest(
  fn: ScheduledFunction,
  opts: { baseUrl: string; project: string; region: string; scheduleTime?: number },
): { url: string; init: RequestInit & { headers: Record<string, string> } };
export function fireCommand(fn: ScheduledFunction): string;
export function startScheduler(opts: {
  functions: ScheduledFunction[];
  baseUrl: string;
  project: string;
  region: string;
  log?: (line: string) => void;
  nowMs?: () => number;
}): { fire(fn: ScheduledFunction, scheduleTime: number): Promise<void>; stop(): void };
