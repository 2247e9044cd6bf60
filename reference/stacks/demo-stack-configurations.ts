import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ReliableMessagingDemoStackProps } from './reliable-messaging-demo-stack';

/**
 * The demo stack as `npm start` and the integration tests deploy it to a local emulator at `emulatorEndpoint`:
 * unit accounting for `npm run bench`, removable stateful resources, and an API callable unsigned.
 */
export function emulatorStackProps(emulatorEndpoint: string): ReliableMessagingDemoStackProps {
  return {
    emulatorEndpoint,
    // Local stacks count their billable units, for `npm run bench`.
    unitAccounting: true,
    durability: {
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      pointInTimeRecovery: false,
    },
    // The contract's acceptance tests call ApiUrl unsigned, and MiniStack answers 403 to any request without an
    // Authorization header on an AWS_IAM route (it never checks the signature). So the emulator's ApiUrl is open;
    // the stack adds the IAM-authorized twin at SignedApiUrl.
    apiAuthorizer: new HttpNoneAuthorizer(),
  };
}

/** What makes a TEST stack (`-c faults=true`): the fault-injection kit and short recovery timings. */
export function testStackProps(): ReliableMessagingDemoStackProps {
  return {
    faultInjection: true,
    timing: {
      sweeper: {
        gracePeriod: Duration.seconds(10),
        maxAttempts: 4,
        backoff: Duration.seconds(1),
        maxBackoff: Duration.seconds(2),
        // A record the relay never processed is found by the audit: every run, after the same grace as the sweep's.
        auditInterval: Duration.seconds(0),
        auditGrace: Duration.seconds(10),
      },
      checkBack: {
        checkInterval: Duration.seconds(10),
        maxChecks: 3,
        checkerTimeout: Duration.seconds(3),
      },
      queueVisibilityTimeout: Duration.seconds(20),
      parkAfterFailures: 2,
      consumerTimeout: Duration.seconds(15),
      // Half messages' prepare timeout follows it: recoveries are seen sooner.
      producerTimeout: Duration.seconds(10),
    },
  };
}
