/** An error the console answers with its HTTP status and `{ "error": message }` as JSON. */
export class ConsoleHttpError extends Error {
  readonly status: number = 500;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConsoleHttpError';
  }
}

/** 400: the request is malformed (a missing or bad field, not JSON); nothing was done. */
export class BadRequestError extends ConsoleHttpError {
  override readonly status: number = 400;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadRequestError';
  }
}

/** 403: the request is not the console page's own (Host, Origin or repair token); nothing was done. */
export class ForbiddenError extends ConsoleHttpError {
  override readonly status: number = 403;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

/** 404: no such page, asset or route. */
export class NotFoundError extends ConsoleHttpError {
  override readonly status: number = 404;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** 405: the route exists, not for this method. */
export class MethodNotAllowedError extends ConsoleHttpError {
  override readonly status: number = 405;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MethodNotAllowedError';
  }
}

/** 409: the repair was refused by the library (e.g. a transaction no longer open); nothing was done. */
export class ConflictError extends ConsoleHttpError {
  override readonly status: number = 409;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}
