import { describe, expect, it } from 'vitest';
import { errorFields } from '../../../../functions/runtime/consumer/consumer-handler-hooks';
import { emfCountMetrics } from '../../../../functions/runtime/count-metrics';

const OPTIONS = {
  namespace: 'ReliableMessaging',
  serviceName: 'idempotent-consumer',
  defaultDimensions: { stack: 'ShopMessaging' },
};
const NOW = new Date('2026-03-01T12:00:00.000Z');

describe('emfCountMetrics', () => {
  it('publishes the counts added since the last publish as one EMF line, with the service and stack dimensions', () => {
    // GIVEN
    const written: string[] = [];
    const metrics = emfCountMetrics(
      OPTIONS,
      (line) => written.push(line),
      () => NOW,
    );

    // WHEN
    metrics.add('UnreadableMessages', 1);
    metrics.add('KeysParked', 1);
    metrics.add('UnreadableMessages', 2);
    metrics.publish();

    // THEN
    expect(written.map((line) => JSON.parse(line))).toEqual([
      {
        _aws: {
          Timestamp: NOW.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'ReliableMessaging',
              Dimensions: [['service', 'stack']],
              Metrics: [
                { Name: 'UnreadableMessages', Unit: 'Count' },
                { Name: 'KeysParked', Unit: 'Count' },
              ],
            },
          ],
        },
        service: 'idempotent-consumer',
        stack: 'ShopMessaging',
        UnreadableMessages: 3,
        KeysParked: 1,
      },
    ]);
  });

  it('publishes nothing when nothing was added, and starts from zero after each publish', () => {
    // GIVEN
    const written: string[] = [];
    const metrics = emfCountMetrics(
      OPTIONS,
      (line) => written.push(line),
      () => NOW,
    );

    // WHEN
    metrics.publish();
    metrics.add('KeysParked', 1);
    metrics.publish();
    metrics.publish();
    metrics.add('KeysParked', 1);
    metrics.publish();

    // THEN
    expect(written.map((line) => JSON.parse(line).KeysParked)).toEqual([1, 1]);
  });
});

describe('errorFields', () => {
  it('shows an error’s name, message and cause, which JSON.stringify of an Error leaves out', () => {
    // GIVEN
    const error = new TypeError('outer', { cause: new RangeError('inner') });

    // WHEN / THEN
    expect(errorFields(error)).toEqual({
      name: 'TypeError',
      message: 'outer',
      cause: { name: 'RangeError', message: 'inner' },
    });
    expect(errorFields('a string')).toEqual({ message: 'a string' });
  });
});
