// Structured logging through firebase-functions/logger, with correlation ids and secret values redacted (values
// read from Secret Manager are registered with the redactor, and fields named like secrets are masked).
import * as functionsLogger from 'firebase-functions/logger';
import { redactor } from './domain/redact';

type Fields = Record<string, unknown>;
type Level = 'debug' | 'info' | 'warn' | 'error';

/** Where log entries go; tests swap it to capture every line. */
export type LogSink = (level: Level, message: string, fields: Fields) => void;

const defaultSink: LogSink = (level, message, fields) => functionsLogger[level](message, fields);
let sink: LogSink = defaultSink;

export function setLogSink(next: LogSink | undefined): void {
  sink = next ?? defaultSink;
}

function emit(level: Level, message: string, fields: Fields = {}): void {
  sink(level, redactor.redactString(message), redactor.redact(fields) as Fields);
}

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

export function logger(base: Fields = {}): Logger {
  const at =
    (level: Level) =>
    (message: string, fields: Fields = {}) =>
      emit(level, message, { ...base, ...fields });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => logger({ ...base, ...fields }),
  };
}

export const log = logger();
