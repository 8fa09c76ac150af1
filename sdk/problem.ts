/** The API's refusals (RFC 9457 problem details) as one error type a caller can branch on by `code`. */
export interface FieldError {
  pointer: string;
  message: string;
}

export interface ProblemBody {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export class ProblemError extends Error {
  readonly status: number;
  /** Stable problem code (`validation-failed`, `not-found`, …); `http-<status>` when the answer had none. */
  readonly code: string;
  readonly errors: FieldError[];
  readonly problem: ProblemBody;

  constructor(problem: ProblemBody) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.name = 'ProblemError';
    this.status = problem.status;
    this.code = problem.code ?? `http-${problem.status}`;
    this.errors = problem.errors ?? [];
    this.problem = problem;
  }
}

/** Reads a failed response into a ProblemError, whatever its body (a proxy's HTML page included). */
export async function problemFrom(res: Response): Promise<ProblemError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Partial<ProblemBody>;
    return new ProblemError({ ...b, status: typeof b.status === 'number' ? b.status : res.status });
  }
  return new ProblemError({ status: res.status, title: res.statusText, detail: text.slice(0, 200) || res.statusText });
}
