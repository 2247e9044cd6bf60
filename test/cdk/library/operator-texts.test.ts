import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { opsCommand } from '../../../lib/constructs/ops-command';
import { ReliableMessaging } from '../../../lib/constructs/reliable-messaging';
import { projectRoot } from '../../../tools/paths';
import { demoStack } from '../support/synth';

/** Every TypeScript source of the library (not its tests). */
function librarySources(): string[] {
  return ['lib', 'functions'].flatMap((dir) =>
    readdirSync(path.join(projectRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.join(projectRoot, dir, file)),
  );
}

describe('what the library tells an operator to run', () => {
  it('names the shipped command with the stack: npx reliable-messaging-ops <command> --stack <name>', () => {
    const stack = new Stack(new App(), 'ShopMessaging');
    expect(opsCommand(stack, 'redrive')).toBe('npx reliable-messaging-ops redrive --stack ShopMessaging');
  });

  it('never says `npm run ops`, a script only this repository has', () => {
    const offenders = librarySources().filter((file) => readFileSync(file, 'utf8').includes('npm run ops'));
    expect(offenders).toEqual([]);
  });

  it.each([
    ['DeadLetterMessages', 'npx reliable-messaging-ops redrive --stack ShopMessaging'],
    ['FailedMessages', 'npx reliable-messaging-ops retry-failed --stack ShopMessaging'],
    ['ConsumerParkedKeys', 'npx reliable-messaging-ops replay --key K --stack ShopMessaging'],
    ['ConsumerUnreadableMessages', 'npx reliable-messaging-ops status --stack ShopMessaging'],
  ])("alarm %s names its repair against the user's stack", (name, command) => {
    // GIVEN a user's stack
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'ShopMessaging');
    const messaging = new ReliableMessaging(stack, 'Messaging');
    messaging.addConsumer('Consumer', {
      handler: new lambda.Function(stack, 'ConsumerFunction', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      }),
    });

    // WHEN / THEN
    const alarm = messaging.alarms.alarms[name];
    expect(alarm).toBeDefined();
    const id = stack.getLogicalId(alarm?.node.defaultChild as cloudwatch.CfnAlarm);
    expect(Template.fromStack(stack).toJSON().Resources[id].Properties.AlarmDescription).toContain(command);
  });

  it("names the resolve command in the check-back's alarms and the redrive in the DLQ's note", () => {
    const template = JSON.stringify(Template.fromStack(demoStack()).toJSON());
    expect(template).toContain(
      'npx reliable-messaging-ops resolve --transaction T --commit --stack ReliableMessagingDemo (or --rollback)',
    );
    expect(template).toContain(
      'alarm DeadLetterMessages, npx reliable-messaging-ops redrive --stack ReliableMessagingDemo',
    );
  });
});
