/**
 * One error type for the whole service, and the catalogue of the codes it may carry. Services throw AppError
 * with a code from PROBLEM_CODES; the HTTP layer (src/http/errors.ts) turns it into RFC 9457 problem+json.
 * Nothing here knows about Express, so services, domain rules and the HTTP layer all depend on this module
 * rather than on each other.
 */
export interface FieldError {
  pointer: string;
  message: string;
}

/**
 * Members every problem carries. An extension member with one of these names would overwrite what RFC 9457
 * defines (a 409 whose `status` read "submitted"), so extensions may not use them.
 */
export const RESERVED_PROBLEM_MEMBERS = ['type', 'title', 'status', 'detail', 'instance', 'code'] as const;
type Reserved = (typeof RESERVED_PROBLEM_MEMBERS)[number];
export type ProblemExtensions = Record<string, unknown> & { [K in Reserved]?: never };

export class AppError extends Error {
  readonly extra: ProblemExtensions;

  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly title: string,
    readonly detail: string,
    extra: ProblemExtensions = {},
  ) {
    super(detail);
    this.name = 'AppError';
    const clash = RESERVED_PROBLEM_MEMBERS.find((m) => Object.hasOwn(extra, m));
    // A programming error: fail where the problem is built, not in a client that branches on `status`.
    if (clash) throw new TypeError(`Problem "${code}" may not carry an extension member named "${clash}"`);
    this.extra = extra;
  }
}

export const badRequest = (detail: string, code: ProblemCode = 'bad-request') =>
  new AppError(400, code, 'Bad request', detail);
export const validationFailed = (errors: FieldError[], detail = 'The request is not valid.') =>
  new AppError(400, 'validation-failed', 'Validation failed', detail, { errors });
export const unauthorized = (detail = 'A valid bearer token is required.') =>
  new AppError(401, 'unauthorized', 'Unauthorized', detail);
export const forbidden = (detail: string) => new AppError(403, 'forbidden', 'Forbidden', detail);
export const notFound = (what = 'resource') =>
  new AppError(404, 'not-found', 'Not found', `No ${what} with that id exists or it is not visible to you.`);
export const conflict = (code: ProblemCode, detail: string, extra?: ProblemExtensions) =>
  new AppError(409, code, 'Conflict', detail, extra);
export const preconditionFailed = (detail: string) =>
  new AppError(412, 'precondition-failed', 'Precondition failed', detail);
export const preconditionRequired = (detail: string) =>
  new AppError(428, 'precondition-required', 'Precondition required', detail);
export const unprocessable = (code: ProblemCode, detail: string, extra?: ProblemExtensions) =>
  new AppError(422, code, 'Unprocessable content', detail, extra);
export const tooManyRequests = (detail: string) => new AppError(429, 'rate-limited', 'Too many requests', detail);

const LOST = 'The upload was lost in storage before it could be kept; send it again.';
export const uploadInterrupted = () => new AppError(503, 'upload-interrupted', 'Upload interrupted', LOST);

/** Problem type URIs are relative to the service, and GET /problems/{code} describes each. */
export const problemType = (code: ProblemCode) => `/problems/${code}`;

/** What each problem code means, for GET /problems/{code} and the API docs. */
export const PROBLEM_CODES = {
  'bad-request': 'The request could not be understood.',
  'validation-failed': 'One or more fields are missing or wrong; see errors[] for a JSON pointer and message each.',
  'malformed-json': 'The body is not valid JSON.',
  'payload-too-large': 'The body is larger than the service accepts.',
  'unsupported-media-type': 'The body must be application/json (UTF-8).',
  'invalid-value': 'A value is not valid for its field.',
  'invalid-cursor': 'The pagination cursor is not one this service issued for this list.',
  unauthorized: 'No valid bearer token: missing, malformed, expired or revoked.',
  'invalid-credentials': 'Email or password is wrong.',
  forbidden: 'You can see this resource but may not change it, or your key lacks the scope.',
  'insufficient-scope': 'The API key does not carry the scope this operation needs.',
  'not-found': 'No such resource, or it is not visible to you.',
  'route-not-found': 'No operation at this path and method.',
  'method-not-allowed': 'The path exists but not with this method.',
  'email-taken': 'A user with this email already exists.',
  'business-number-taken': 'An organisation with this business registration number already exists.',
  'invalid-transition': 'The resource is not in a state that allows this action.',
  'slot-overlap': 'A slot of this testbed already covers part of that time.',
  'slot-in-use': 'The slot has bookings; free them first.',
  'capacity-below-booked': 'Capacity cannot drop below the units already booked.',
  'slot-full':
    'The slot has fewer available units (capacity − booked − held) than asked for; alternatives[] lists up to three ' +
    'other candidates, and the waitlist is open.',
  'slot-unsuitable':
    "The slot does not meet the pilot's requirements; reasons[] says why and alternatives[] lists up to three candidates.",
  'booking-overlap': 'The pilot already holds a confirmed booking that overlaps this slot in time.',
  'match-exists': 'The pilot already has a live match for this slot.',
  'match-expired': 'The match passed its expiry time before it was decided.',
  'empty-scope': 'The allocation scope holds no submitted pilot or no open slot; nothing was proposed.',
  'webhook-url-not-allowed':
    'The webhook URL points at a loopback, private, link-local, CGNAT, multicast or metadata address.',
  'endpoint-disabled': 'The webhook endpoint is disabled; enable it first.',
  'idempotency-key-reused': 'This Idempotency-Key was used with a different request.',
  'idempotency-key-in-flight': 'A request with this Idempotency-Key is still being processed.',
  'precondition-failed': 'If-Match does not match the current ETag; fetch the resource again.',
  'precondition-required': 'This operation needs an If-Match header with the ETag you last read.',
  'rate-limited': 'Too many attempts; wait for the time in Retry-After.',
  'not-ready': 'The process is shutting down or its database does not answer; send traffic elsewhere.',

  'allocation-runs-busy':
    'As many allocation runs as the process allows (ALLOCATION_MAX_RUNS) are in flight; retry after Retry-After.',
  retry: 'A concurrent change collided with this one; retrying is safe.',
  'database-unavailable': 'The database cannot be reached right now; retry after Retry-After. Nothing was written.',
  'file-too-large': 'The uploaded file is larger than UPLOAD_MAX_BYTES; nothing was kept.',
  'storage-quota-exceeded': "The upload does not fit in the organisation's storage quota; nothing was kept.",
  'digest-mismatch': 'The SHA-256 of the received bytes differs from the sha256 the client sent; nothing was kept.',
  'unsupported-dataset-type':
    'The content (sniffed, not the name or Content-Type) is not a type accepted as a dataset.',
  'malformed-multipart': 'The multipart/form-data body is malformed, cut short or has too many parts.',
  'request-aborted': 'The client closed the request before the body arrived; nothing was kept.',
  'upload-offset-mismatch':
    'tus: Upload-Offset is not the offset the server holds; HEAD the upload, resume from there.',
  'upload-expired': 'tus: the unfinished upload passed Upload-Expires; its bytes were removed.',
  'upload-finished': 'tus: the upload is finished and became a dataset version.',
  'tus-version-unsupported': 'tus: send Tus-Resumable: 1.0.0.',
  'invalid-upload-metadata': 'tus: Upload-Metadata is not comma-separated "key base64(value)" pairs of UTF-8 text.',
  'upload-interrupted': 'The upload was lost in storage before it was kept (nothing was committed); send it again.',
  'upload-locked':
    'tus: another request is writing this upload and was asked to stop but has not yet; HEAD the upload and resume.',

  'request-timeout':
    'The request body stopped arriving for REQUEST_IDLE_TIMEOUT_SECONDS, or (outside uploads) did not arrive whole within REQUEST_BODY_TIMEOUT_SECONDS; nothing was kept.',
  'range-not-satisfiable': 'No requested byte range lies within the file.',
  internal: 'An unexpected error on the server.',
  'budget-exceeded': "Confirming this would take the pilot's committed credits past its budget; nothing was booked.",
  'credits-below-committed': 'A budget cannot be lowered below the credits its confirmed bookings already commit.',
  'slot-blocked': 'A blackout of the testbed covers the slot (blockedBy); it cannot be booked, requested or proposed.',
  'slot-past': 'The slot has already started.',
  'waitlist-exists': 'The pilot is already waiting for this slot.',
  'slot-not-adjacent': "Only the next slot of the booking's testbed (first to start at or after its end) extends it.",
  'invalid-idempotency-key': 'Idempotency-Key must be 1 to 255 visible ASCII characters.',
  'not-a-session': 'Logout ends a login session; an API key is retired with DELETE /v1/api-keys/{id} instead.',
} as const satisfies Record<string, string>;

/** Every code a problem may carry: a code missing from the catalogue above does not compile. */
export type ProblemCode = keyof typeof PROBLEM_CODES;

/** The catalogue's codes, in its order (the order the API document lists them in). */
export const problemCodes = Object.keys(PROBLEM_CODES) as ProblemCode[];

export function isProblemCode(s: string): s is ProblemCode {
  return Object.hasOwn(PROBLEM_CODES, s);
}
