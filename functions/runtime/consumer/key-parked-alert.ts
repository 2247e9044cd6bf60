import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type { ParkedKey } from './idempotent-consumer';

/**
 * The alert a parked key raises on the alert topic: `alert` = `KeyParked` (attribute and body), the key's details,
 * and the consumer group (`group`, in the body and the subject) when the consumer belongs to one.
 */
export function keyParkedAlert(topicArn: string, parked: ParkedKey, group?: string): PublishCommandInput {
  const named = group === undefined ? {} : { group };
  return {
    TopicArn: topicArn,
    Subject: `Key ${parked.groupKey} parked${group === undefined ? '' : ` in group ${group}`}`.slice(0, 99),
    Message: JSON.stringify({ alert: 'KeyParked', ...named, ...parked }),
    MessageAttributes: {
      alert: { DataType: 'String', StringValue: 'KeyParked' },
      ...(group === undefined ? {} : { group: { DataType: 'String', StringValue: group } }),
    },
  };
}
