// The bench's entry point into the runtime (`reliable-messaging-serverless/runtime/bench-support`): the cores of the
// library's own handlers and the helpers the bench measures them with. Not a package export (package.json `exports`
// has no such subpath, and the build does not ship it): only the bench may import it
// (test/unit/project/import-boundary.test.ts).
export { addLedgers } from './accounting/unit-accounting';
export { forEachConcurrently } from './concurrency';
export type { OutboxItem } from './outbox/outbox-message';
export { newOutboxItem } from './outbox/outbox-writer';
export { OutboxPublisher } from './relay/outbox-publisher';
export { OutboxAudit } from './sweeper/outbox-audit';
export { OutboxSweeper } from './sweeper/outbox-sweeper';
