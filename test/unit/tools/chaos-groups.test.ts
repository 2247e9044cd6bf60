import { describe, expect, it } from 'vitest';
import { groupLocations } from '../../../scripts/chaos/chaos-groups';
import type { StackOutputs } from '../../../tools/stack/outputs';

const base = {
  QueueUrl: 'q',
  DeadLetterQueueUrl: 'dlq',
  InboxTableName: 'inbox',
  ProjectionTableName: 'projection',
} as StackOutputs;
const audit = {
  AuditTableName: 'audit',
  AuditQueueUrl: 'audit-q',
  AuditDeadLetterQueueUrl: 'audit-dlq',
  AuditInboxTableName: 'audit-inbox',
};
const shipping = {
  ShippingTableName: 'shipping',
  ShippingQueueUrl: 'shipping-q',
  ShippingDeadLetterQueueUrl: 'shipping-dlq',
  ShippingInboxTableName: 'shipping-inbox',
};

describe('groupLocations (what the reliability run reads of each consumer group)', () => {
  it('finds the projection alone in a stack without the other groups’ outputs', () => {
    expect(groupLocations(base).map((group) => group.name)).toEqual(['projection']);
  });

  it('finds the three groups, each with its own queue, dead-letter queue, inbox and cursors', () => {
    // WHEN
    const groups = groupLocations({ ...base, ...audit, ...shipping });

    // THEN
    expect(groups.map(({ cursorKey, ...where }) => ({ ...where, cursor: cursorKey('o-1') }))).toEqual([
      {
        name: 'projection',
        queueUrl: 'q',
        deadLetterQueueUrl: 'dlq',
        inboxTableName: 'inbox',
        cursorTableName: 'inbox',
        effectTableName: 'projection',
        cursor: { pk: 'KEY#o-1', sk: 'CURSOR' },
      },
      {
        name: 'audit',
        queueUrl: 'audit-q',
        deadLetterQueueUrl: 'audit-dlq',
        inboxTableName: 'audit-inbox',
        cursorTableName: 'audit-inbox',
        effectTableName: 'audit',
        cursor: { pk: 'KEY#o-1', sk: 'CURSOR' },
      },
      {
        name: 'shipping',
        queueUrl: 'shipping-q',
        deadLetterQueueUrl: 'shipping-dlq',
        inboxTableName: 'shipping-inbox',
        cursorTableName: 'shipping',
        effectTableName: 'shipping',
        cursor: { orderId: 'o-1' },
      },
    ]);
  });

  it('fails if a group has only some of its outputs, naming the missing ones', () => {
    const { AuditInboxTableName: _, ...partial } = audit;
    expect(() => groupLocations({ ...base, ...partial })).toThrow(
      'the stack has the audit group only in part: missing output(s) AuditInboxTableName',
    );
  });
});
