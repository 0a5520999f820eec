// Assertions for the storefront script: every step checks what it got, and the first mismatch
// ends the run with exit code 1 (the CI check relies on that).

/** One problem document (RFC 9457) as the engine sends it: enough to assert on `code`. */
interface ProblemLike {
  readonly code: string;
  readonly status: number;
}

/** What every openapi-fetch call resolves to, whatever the operation. */
interface Answer<D, E> {
  readonly data?: D;
  readonly error?: E;
  readonly response: Response;
}

export class Mismatch extends Error {
  override name = "Mismatch";
}

export function fail(message: string): never {
  throw new Mismatch(message);
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) {
    fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function describe(answer: Answer<unknown, unknown>): string {
  const body = answer.error ?? answer.data;
  return `${answer.response.status} ${body === undefined ? "(no body)" : JSON.stringify(body)}`;
}

/** The typed body of a success with exactly `status` and a JSON content type. */
export function expectData<D, E>(answer: Answer<D, E>, status: number, what: string): D {
  if (answer.response.status !== status || answer.data === undefined) {
    fail(`${what}: expected ${status}, got ${describe(answer)}`);
  }
  const type = answer.response.headers.get("content-type") ?? "";
  check(/^application\/json\b/.test(type), `${what}: content-type ${type}, expected application/json`);
  return answer.data;
}

/** A success without a body (204, 202). */
export function expectEmpty<D, E>(answer: Answer<D, E>, status: number, what: string): void {
  if (answer.response.status !== status) fail(`${what}: expected ${status}, got ${describe(answer)}`);
}

/**
 * A problem+json answer with `status` and `code`. The error body's type comes from the
 * document (the operation's 4xx responses), so `code` and `status` must be declared there.
 */
export function expectProblem<D, E extends ProblemLike>(
  answer: Answer<D, E>,
  status: number,
  code: string,
  what: string,
): E {
  if (answer.response.status !== status || answer.error === undefined) {
    fail(`${what}: expected ${status} ${code}, got ${describe(answer)}`);
  }
  const type = answer.response.headers.get("content-type") ?? "";
  check(type.startsWith("application/problem+json"), `${what}: content-type ${type}, expected problem+json`);
  equal(answer.error.status, status, `${what}: problem status`);
  equal(answer.error.code, code, `${what}: problem code`);
  return answer.error;
}

/** RFC 3339 in UTC (`Z` or `+00:00`), as API.md promises for every time. */
export function checkTime(value: string, what: string): void {
  check(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$/.test(value) && !Number.isNaN(Date.parse(value)),
    `${what}: ${JSON.stringify(value)} is not an RFC 3339 UTC time`,
  );
}

/** A type prefix and a ULID, e.g. `prod_01J…`. */
export function checkId(value: string, prefix: string, what: string): void {
  check(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`).test(value), `${what}: ${JSON.stringify(value)} is not a ${prefix}_ id`);
}

let steps = 0;

/** Runs one named step and prints it once it passed. */
export async function step(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof Mismatch) e.message = `${name}: ${e.message}`;
    throw e;
  }
  steps += 1;
  console.log(`ok ${steps} - ${name}`);
}

export function stepsPassed(): number {
  return steps;
}
