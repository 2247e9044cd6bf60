import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { OutputsNotFoundError, UsageError } from '../../../../lib/ops/errors';
import {
  emulatorEndpointOf,
  outputsFromJson,
  outputsFromStack,
  resolveTarget,
  type TargetDependencies,
} from '../../../../lib/ops/outputs';
import { outputsFile } from '../../../../tools/stack/outputs';

const cloudFormation = mockClient(CloudFormationClient);

const OUTPUTS = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
  OrdersTableName: 'orders',
  OutboxTableName: 'outbox',
  InboxTableName: 'inbox',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq.fifo',
  AlertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
};
const LOCAL_OUTPUTS = { ...OUTPUTS, ApiUrl: 'http://localhost:4566/_aws/execute-api/abc123/' };

const asCloudFormationOutputs = (outputs: Record<string, string>) =>
  Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue }));

/** The repository's default target (what `npm run ops` passes). */
const LOCAL_DEFAULT = {
  outputsFile,
  stackName: 'ReliableMessagingDemo',
  howToDeploy: 'deploy locally with `npm start`',
};

/** Dependencies with the given files and environment; the CloudFormation client is the mocked one. */
function deps(files: Record<string, string>, env: NodeJS.ProcessEnv = {}, local = true) {
  const clientConfigs: Array<{ region?: string; endpoint?: string }> = [];
  const dependencies: TargetDependencies = {
    env,
    readFile: (path) => {
      const text = files[path];
      if (text === undefined)
        throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
      return text;
    },
    cloudFormation: (config) => {
      clientConfigs.push(config);
      return new CloudFormationClient({ region: config.region ?? 'us-east-1' });
    },
    ...(local ? { localDefault: LOCAL_DEFAULT } : {}),
  };
  return { dependencies, clientConfigs };
}

async function rejection(promise: Promise<unknown>): Promise<OutputsNotFoundError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OutputsNotFoundError) return error;
    throw error;
  }
  throw new Error('expected an OutputsNotFoundError');
}

beforeEach(() => {
  cloudFormation.reset();
});

describe('reading a stack deployed to AWS (--stack)', () => {
  it('reads the outputs with DescribeStacks, with no endpoint and the region given', async () => {
    // GIVEN a stack with the contract's outputs (and one more)
    cloudFormation.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves({
      Stacks: [
        {
          StackName: 'Prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: asCloudFormationOutputs({ ...OUTPUTS, DashboardName: 'dash' }),
        },
      ],
    });
    const { dependencies, clientConfigs } = deps({});

    // WHEN the target is resolved for --stack Prod --region eu-west-1
    const target = await resolveTarget({ stack: 'Prod', region: 'eu-west-1' }, dependencies);

    // THEN the outputs are the stack's, the services are on AWS (no endpoint), in that region
    expect(target.outputs).toMatchObject({ ...OUTPUTS, DashboardName: 'dash' });
    expect(target).toMatchObject({ stackName: 'Prod', endpoint: undefined, region: 'eu-west-1' });
    expect(clientConfigs).toEqual([{ region: 'eu-west-1' }]);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('reads a --stack on the emulator AWS_ENDPOINT_URL names: its endpoint, us-east-1, test credentials', async () => {
    // GIVEN the user's local loop: AWS_ENDPOINT_URL set, no region, no credentials
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'S',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: asCloudFormationOutputs(OUTPUTS),
        },
      ],
    });
    const { dependencies, clientConfigs } = deps({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566/' });

    // WHEN the target is resolved for --stack S
    const target = await resolveTarget({ stack: 'S' }, dependencies);

    // THEN CloudFormation and every service are asked at the emulator, in us-east-1, with test credentials
    const emulator = {
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    expect(clientConfigs).toEqual([emulator]);
    expect(target).toMatchObject({
      endpoint: emulator.endpoint,
      region: 'us-east-1',
      source: 'stack S in us-east-1',
    });
  });

  it('leaves the region to the SDK when neither --region nor AWS_REGION is given', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'S',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: asCloudFormationOutputs(OUTPUTS),
        },
      ],
    });
    const { dependencies, clientConfigs } = deps({});
    const target = await resolveTarget({ stack: 'S' }, dependencies);
    expect(clientConfigs).toEqual([{}]);
    expect(target.region).toBeUndefined();
  });

  it('fails if the stack does not exist, saying so and keeping the cause', async () => {
    // GIVEN CloudFormation answers as it does for an unknown stack
    const cause = new CloudFormationServiceException({
      name: 'ValidationError',
      $fault: 'client',
      $metadata: {},
      message: 'Stack with id Nope does not exist',
    });
    cloudFormation.on(DescribeStacksCommand).rejects(cause);

    // WHEN its outputs are read
    const error = await rejection(
      outputsFromStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Nope'),
    );

    // THEN the error names the stack and keeps the SDK's error
    expect(error.name).toBe('OutputsNotFoundError');
    expect(error.message).toMatch(/stack Nope does not exist/);
    expect(error.cause).toBe(cause);
  });

  it('fails if the credentials cannot be found, naming the stack', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(new Error('Could not load credentials from any providers'));
    const error = await rejection(
      outputsFromStack(new CloudFormationClient({ region: 'eu-west-1' }), 'Prod'),
    );
    expect(error.message).toMatch(/could not read stack Prod: Could not load credentials/);
  });

  it('fails if the stack has no outputs, or lacks one the commands need', async () => {
    // GIVEN a stack still being created (no outputs), then one without the dead-letter queue's URL
    const { DeadLetterQueueUrl: _missing, ...partial } = OUTPUTS;
    cloudFormation.on(GetTemplateCommand).resolves({ TemplateBody: '{"Resources":{}}' });
    cloudFormation.on(ListStackResourcesCommand).resolves({ StackResourceSummaries: [] });
    cloudFormation
      .on(DescribeStacksCommand)
      .resolvesOnce({
        Stacks: [{ StackName: 'S', StackStatus: 'CREATE_IN_PROGRESS', CreationTime: new Date() }],
      })
      .resolvesOnce({
        Stacks: [
          {
            StackName: 'S',
            StackStatus: 'CREATE_COMPLETE',
            CreationTime: new Date(),
            Outputs: asCloudFormationOutputs(partial),
          },
        ],
      });
    const client = new CloudFormationClient({ region: 'eu-west-1' });

    // THEN each fails with what is wrong
    expect((await rejection(outputsFromStack(client, 'S'))).message).toMatch(
      /has no outputs \(status CREATE_IN_PROGRESS\)/,
    );
    expect((await rejection(outputsFromStack(client, 'S'))).message).toMatch(
      /lacks the output DeadLetterQueueUrl/,
    );
  });
});

describe('reading outputs from a file (--outputs) or the local default', () => {
  it('reads `cdk deploy --outputs-file` output and a flat object of outputs', () => {
    expect(outputsFromJson(JSON.stringify({ ReliableMessagingDemo: OUTPUTS }), 'f.json')).toEqual({
      stackName: 'ReliableMessagingDemo',
      outputs: OUTPUTS,
    });
    expect(outputsFromJson(JSON.stringify({ Other: OUTPUTS }), 'f.json').stackName).toBe('Other');
    expect(outputsFromJson(JSON.stringify(OUTPUTS), 'f.json').outputs).toEqual(OUTPUTS);
  });

  it.each([
    ['not JSON', '{oops', /f.json is not JSON/],
    ['an array', '[]', /holds no object of stack outputs/],
    [
      'several other stacks',
      JSON.stringify({ A: OUTPUTS, B: OUTPUTS }),
      /holds the outputs of several stacks \(A, B\): name one with --stack NAME/,
    ],
    ['no stacks', JSON.stringify({}), /holds no stack outputs/],
    [
      'outputs missing',
      JSON.stringify({ ReliableMessagingDemo: { ApiUrl: 'x' } }),
      /lacks the outputs OutboxTableName, /,
    ],
  ])('fails if the file holds %s', (_what, text, message) => {
    expect(() => outputsFromJson(text, 'f.json')).toThrow(message);
    expect(() => outputsFromJson(text, 'f.json')).toThrow(OutputsNotFoundError);
  });

  it("prefers the repository's stack in a file of several, and says so when the file lacks it", () => {
    const two = JSON.stringify({ A: OUTPUTS, ReliableMessagingDemo: LOCAL_OUTPUTS });
    expect(outputsFromJson(two, 'f.json', undefined, 'ReliableMessagingDemo').stackName).toBe(
      'ReliableMessagingDemo',
    );
    expect(() =>
      outputsFromJson(
        JSON.stringify({ A: OUTPUTS, B: OUTPUTS }),
        'f.json',
        undefined,
        'ReliableMessagingDemo',
      ),
    ).toThrow(/has no outputs of ReliableMessagingDemo; it has: A, B/);
  });

  it('asks for --stack or --outputs when there is no local default (the shipped CLI)', async () => {
    // WHEN the shipped CLI is given neither
    const error = await resolveTarget({}, deps({}, {}, false).dependencies).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );

    // THEN a usage error (exit code 2) names both ways
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(
      /which stack\? name the stack with --stack NAME .*--outputs FILE/,
    );
  });

  it('uses .local/outputs.json and the local emulator by default, or AWS_ENDPOINT_URL', async () => {
    // GIVEN the outputs npm start wrote
    const files = { [outputsFile]: JSON.stringify({ ReliableMessagingDemo: LOCAL_OUTPUTS }) };

    // WHEN resolved with no option, then with AWS_ENDPOINT_URL set
    const local = await resolveTarget({}, deps(files).dependencies);
    const other = await resolveTarget(
      {},
      deps(files, { AWS_ENDPOINT_URL: 'http://other:4566/' }).dependencies,
    );

    // THEN the emulator on 127.0.0.1:4566, or the endpoint of the environment
    expect(local).toMatchObject({
      endpoint: 'http://127.0.0.1:4566',
      region: 'us-east-1',
      stackName: 'ReliableMessagingDemo',
    });
    expect(other.endpoint).toBe('http://other:4566');
  });

  it('fails if there is no local outputs file, telling how to name a stack instead', async () => {
    const error = await rejection(resolveTarget({}, deps({}).dependencies));
    expect(error.message).toMatch(
      /no outputs at .*outputs\.json: deploy locally with `npm start`, or .*--stack NAME/,
    );
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('fails if the --outputs file cannot be read', async () => {
    const error = await rejection(resolveTarget({ outputs: 'missing.json' }, deps({}).dependencies));
    expect(error.message).toMatch(/cannot read the outputs file missing.json: ENOENT/);
  });

  it("serves an --outputs file's stack from AWS, or from the emulator its ApiUrl points at, or --endpoint", async () => {
    const files = {
      'aws.json': JSON.stringify({ Prod: OUTPUTS }),
      'local.json': JSON.stringify(LOCAL_OUTPUTS),
    };
    expect(await resolveTarget({ outputs: 'aws.json' }, deps(files).dependencies)).toMatchObject({
      stackName: 'Prod',
      endpoint: undefined,
      region: undefined,
    });
    expect((await resolveTarget({ outputs: 'local.json' }, deps(files).dependencies)).endpoint).toBe(
      'http://localhost:4566',
    );
    expect(
      (await resolveTarget({ outputs: 'aws.json', endpoint: 'http://emu:4566/' }, deps(files).dependencies))
        .endpoint,
    ).toBe('http://emu:4566');
  });

  it('recognises an emulator API URL', () => {
    expect(emulatorEndpointOf('http://127.0.0.1:4566/_aws/execute-api/x1/')).toBe('http://127.0.0.1:4566');
    expect(emulatorEndpointOf(OUTPUTS.ApiUrl)).toBeUndefined();
    expect(emulatorEndpointOf('not a url')).toBeUndefined();
  });
});
