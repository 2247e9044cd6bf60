import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  ConsoleHttpError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
} from '../../../../lib/ops/console/http-errors';

describe("the console's HTTP errors", () => {
  it.each([
    [BadRequestError, 400],
    [ForbiddenError, 403],
    [NotFoundError, 404],
    [MethodNotAllowedError, 405],
    [ConflictError, 409],
    [ConsoleHttpError, 500],
  ])('%o answers its status, is named after its class and keeps its cause', (Kind, status) => {
    const cause = new Error('underneath');
    const error = new Kind('what went wrong', { cause });
    expect(error).toBeInstanceOf(ConsoleHttpError);
    expect(error.status).toBe(status);
    expect(error.name).toBe(Kind.name);
    expect(error.cause).toBe(cause);
  });
});
