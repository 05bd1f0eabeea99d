// The zod-issue converter, as the package's public entry points offer it (`pipeline-dag/stage` re-exports it for
// artifact readers in stages). It lives in core/schema-issues.ts, where the engine's own readers use it too.
export {
  formatShapeDiagnostics,
  issuesToDiagnostics,
  type ConvertOptions,
  type IssueView,
  type KeyPath,
  type SchemaIssue,
  type ShapeCode,
  type ShapeDiagnostic,
  type SourceRange,
} from '../core/schema-issues.js';
