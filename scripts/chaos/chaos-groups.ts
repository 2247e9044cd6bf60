import { inboxKeys } from '../../functions/runtime/consumer/inbox-keys';
import type { StackOutputs } from '../../tools/stack/outputs';

/** The reference application's consumer groups (design.md, "Consumer groups"), in the order the run checks them. */
export const CONSUMER_GROUPS = ['projection', 'audit', 'shipping'] as const;
export type ConsumerGroupName = (typeof CONSUMER_GROUPS)[number];

/** The outputs the reference stack adds for its audit and shipping groups (absent from a stack without them). */
export interface ConsumerGroupOutputs {
  readonly AuditTableName?: string;
  readonly AuditQueueUrl?: string;
  readonly AuditDeadLetterQueueUrl?: string;
  readonly AuditInboxTableName?: string;
  readonly AuditConsumerFunctionName?: string;
  readonly ShippingTableName?: string;
  readonly ShippingQueueUrl?: string;
  readonly ShippingDeadLetterQueueUrl?: string;
  readonly ShippingInboxTableName?: string;
  readonly ShippingConsumerFunctionName?: string;
}

/** Where one group keeps what the run reads: its queue, dead-letter queue, inbox (held, parked) and cursors. */
export interface GroupLocation {
  readonly name: ConsumerGroupName;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly inboxTableName: string;
  /** The table of the group's cursors, and a key's cursor item in it. */
  readonly cursorTableName: string;
  readonly cursorKey: (groupKey: string) => Record<string, string>;
  /** The table of the group's effects (the projection's, the audit's, the shipping state). */
  readonly effectTableName: string;
}

const inboxCursor = (groupKey: string) => inboxKeys.cursor(groupKey);

/**
 * The groups a deployed stack has: the projection always (the stack's own queue and inbox), audit and shipping when
 * every output they need is there. A group with only some of its outputs is a broken stack: that fails, naming them.
 */
export function groupLocations(outputs: StackOutputs & ConsumerGroupOutputs): GroupLocation[] {
  const groups: GroupLocation[] = [
    {
      name: 'projection',
      queueUrl: outputs.QueueUrl,
      deadLetterQueueUrl: outputs.DeadLetterQueueUrl,
      inboxTableName: outputs.InboxTableName,
      cursorTableName: outputs.InboxTableName,
      cursorKey: inboxCursor,
      effectTableName: outputs.ProjectionTableName,
    },
  ];
  const audit = present('audit', {
    AuditTableName: outputs.AuditTableName,
    AuditQueueUrl: outputs.AuditQueueUrl,
    AuditDeadLetterQueueUrl: outputs.AuditDeadLetterQueueUrl,
    AuditInboxTableName: outputs.AuditInboxTableName,
  });
  if (audit !== undefined) {
    groups.push({
      name: 'audit',
      queueUrl: audit.AuditQueueUrl,
      deadLetterQueueUrl: audit.AuditDeadLetterQueueUrl,
      inboxTableName: audit.AuditInboxTableName,
      cursorTableName: audit.AuditInboxTableName,
      cursorKey: inboxCursor,
      effectTableName: audit.AuditTableName,
    });
  }
  const shipping = present('shipping', {
    ShippingTableName: outputs.ShippingTableName,
    ShippingQueueUrl: outputs.ShippingQueueUrl,
    ShippingDeadLetterQueueUrl: outputs.ShippingDeadLetterQueueUrl,
    ShippingInboxTableName: outputs.ShippingInboxTableName,
  });
  if (shipping !== undefined) {
    groups.push({
      name: 'shipping',
      queueUrl: shipping.ShippingQueueUrl,
      deadLetterQueueUrl: shipping.ShippingDeadLetterQueueUrl,
      inboxTableName: shipping.ShippingInboxTableName,
      // The shipping state is the group's cursor table (keyAttribute orderId): effect and cursor on one item.
      cursorTableName: shipping.ShippingTableName,
      cursorKey: (groupKey) => ({ orderId: groupKey }),
      effectTableName: shipping.ShippingTableName,
    });
  }
  return groups;
}

/** The outputs, all defined; undefined if none is; an error naming the missing ones if only some are. */
function present<K extends string>(
  group: string,
  outputs: Record<K, string | undefined>,
): Record<K, string> | undefined {
  const missing = Object.entries(outputs).filter(([, value]) => value === undefined || value === '');
  if (missing.length === Object.keys(outputs).length) return undefined;
  if (missing.length > 0) {
    throw new Error(
      `the stack has the ${group} group only in part: missing output(s) ${missing.map(([name]) => name).join(', ')}`,
    );
  }
  return outputs as Record<K, string>;
}
