/** The AX Testbed Registry TypeScript client. */
export {
  AxClient,
  iterate,
  ok,
  type AxClientOptions,
  type Api,
  type Page,
  type paths,
  type components,
  type operations,
} from './client.js';
export { ProblemError, type ProblemBody, type FieldError } from './problem.js';
export { DEFAULT_RETRY, backoffMs, retryAfterMs, type RetryOptions } from './retry.js';
export {
  uploadDataset,
  downloadDataset,
  sha256File,
  type UploadOptions,
  type UploadResult,
  type DownloadResult,
  type Progress,
} from './transfer.js';
