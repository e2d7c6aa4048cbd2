/** A client of the Jobman's HTTP API, for the CLI and for programs. */
export {
  JobmanClient,
  JobmanApiError,
  ClientErrorCode,
  clientDefaults,
  type JobmanClientOptions,
  type JobEvent,
  type ResultRow,
  type AttemptErrorRow,
  type CancelAnswer,
  type Health,
} from './client.js';
export { FINISHED_JOB_STATES, type JobView, type NodeView, type WorkerView, type NodeMetrics, type SubmitJob } from '../api/schemas.js';
