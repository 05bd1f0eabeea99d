// Where the last run's record lives and the version of its shape: plain values with no dependencies, so the
// engine writes the file without loading the schema library that checks it when it is read (last-run.ts).
export const LAST_RUN_FILE = '.pipeline/last-run.json';
export const SCHEMA_VERSION = 1;
