/**
 * An error the console answers with its HTTP status and `{ "error": message }` as JSON. Each kind below is a class
 * named after what it means (its `name` is the class's), with its status.
 */
export class ConsoleHttpError extends Error {
  readonly status: number = 500;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 400: the request is malformed (a missing or bad field, not JSON); nothing was done. */
export class BadRequestError extends ConsoleHttpError {
  override readonly status: number = 400;
}

/** 403: the request is not the console page's own (Host, Origin or repair token); nothing was done. */
export class ForbiddenError extends ConsoleHttpError {
  override readonly status: number = 403;
}

/** 404: no such page, asset or route. */
export class NotFoundError extends ConsoleHttpError {
  override readonly status: number = 404;
}

/** 405: the route exists, not for this method. */
export class MethodNotAllowedError extends ConsoleHttpError {
  override readonly status: number = 405;
}

/** 409: the repair was refused by the library (e.g. a transaction no longer open); nothing was done. */
export class ConflictError extends ConsoleHttpError {
  override readonly status: number = 409;
}
