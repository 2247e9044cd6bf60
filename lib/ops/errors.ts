/** Base class of the errors the ops CLI raises on purpose; `exitCode` is what the process ends with. */
export class OpsError extends Error {
  readonly exitCode: number = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OpsError';
  }
}

/** The command line is wrong (unknown command or flag, missing or bad value): exit code 2. */
export class UsageError extends OpsError {
  override readonly exitCode: number = 2;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The stack's outputs could not be found or read (no file, no stack, outputs missing). */
export class OutputsNotFoundError extends OpsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutputsNotFoundError';
  }
}
