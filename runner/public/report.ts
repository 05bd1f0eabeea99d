// `pipeline-dag/report`: what a workspace's report command may import from the engine: the stage graph drawn as
// SVG, coloured by each stage's status in the last run (the graph and statuses come from .pipeline/last-run.json).
export { formatDuration, impliedEdges, renderDagSvg, STATUS_COLORS, type DagStageInfo, type DagSvgOptions } from '../graph/draw-svg.js';
export { LAST_RUN_FILE, lastRunSchema, readLastRun, type LastRun, type OutcomeKind, type ReasonRecord, type StageRecord, type StageStatus } from './last-run.js';
