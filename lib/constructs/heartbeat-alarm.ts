import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';

/** CloudWatch evaluates at most one day of periods. */
const MAX_WINDOW = Duration.days(1);
/** Periods without a heartbeat before the alarm fires. */
const MISSED_PERIODS = 3;

/**
 * An alarm on a scheduled function's heartbeat (a count published once per completed pass): it fires when no pass
 * completed within three schedule periods, and missing data counts as breaching — a function that never runs, or
 * fails every time, publishes nothing. A schedule longer than 8 hours is watched over one day (CloudWatch's limit).
 */
export function heartbeatAlarm(
  scope: Construct,
  id: string,
  heartbeat: cloudwatch.Metric,
  schedule: Duration,
  description: string,
): cloudwatch.Alarm {
  const fits = schedule.toSeconds() * MISSED_PERIODS <= MAX_WINDOW.toSeconds();
  return heartbeat.with({ statistic: 'Sum', period: fits ? schedule : MAX_WINDOW }).createAlarm(scope, id, {
    alarmDescription: description,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: fits ? MISSED_PERIODS : 1,
    datapointsToAlarm: fits ? MISSED_PERIODS : 1,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
}
