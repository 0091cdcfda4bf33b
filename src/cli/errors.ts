/**
 * The CLI's one error type: a message meant for the user, printed as one `protium: <message>` line on
 * stderr (never a stack), and the exit code to leave with.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** An error answer of the dashboard: its HTTP status and its `{"error": ...}` message. */
export class ApiAnswerError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
  ) {
    super(message);
  }
}
