import type { PublishCommandInput } from '@aws-sdk/client-sns';
import type { ParkedKey } from './idempotent-ordered-consumer';

/** The alert a parked key raises on the alert topic: `alert` = `KeyParked` (attribute and body), the key's details. */
export function keyParkedAlert(topicArn: string, parked: ParkedKey): PublishCommandInput {
  return {
    TopicArn: topicArn,
    Subject: `Key ${parked.groupKey} parked`.slice(0, 99),
    Message: JSON.stringify({ alert: 'KeyParked', ...parked }),
    MessageAttributes: { alert: { DataType: 'String', StringValue: 'KeyParked' } },
  };
}
