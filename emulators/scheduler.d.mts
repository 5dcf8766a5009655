export interface ScheduledFunction {
  id: string;
  schedule: string;
  timeZone: string;
  region?: string;
}
export interface Where {
  baseUrl: string;
  project: string;
  region: string;
}
export declare function findScheduledFunctions(indexJs: string): ScheduledFunction[];
export declare function scheduledRequest(
  fn: ScheduledFunction,
  where: Where & { scheduleTime: number | string },
): { url: string; headers: Record<string, string>; body: string };
export declare function fireCommand(fn: ScheduledFunction, where: Where): string;
export declare function describeFunctions(
  indexJs: string,
  where: Where,
): { id: string; kind: 'http' | 'event' | 'scheduled'; how: string }[];
