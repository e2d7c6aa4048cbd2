/** Clients of a cluster: the Jobman's HTTP API (client.ts), the RS-UDF API (rs-udf.ts), an embedded cluster (embedded.ts). */
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
export { Cluster, type JobHandle, type UdfJobOptions, type UdfModule } from './rs-udf.js';
export { JobFailedError, jobResults, waitForSuccess } from './wait.js';
export { connect, type ConnectOptions } from './embedded.js';
