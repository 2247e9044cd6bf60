import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import type { TargetDependencies } from '../../../../lib/ops/outputs';

// The GIVEN of the ops CLI's tests that find a user's stack (lib/ops): a deployed stack as CloudFormation describes
// it — its outputs, its template's resources marked by the constructs, their physical IDs — and the dependencies
// resolveTarget reads files and reaches CloudFormation through. A test file that uses it mocks no CloudFormationClient
// of its own: `cloudFormation` is that mock.

/** The mocked CloudFormation the ops CLI reads a stack from. */
export const cloudFormation = mockClient(CloudFormationClient);

/** A template resource marked with its role, as the constructs mark theirs, with `more` metadata (a group, a table). */
export const marked = (role: string, more: Record<string, unknown> = {}) => ({
  Type: 'AWS::Any',
  Metadata: { 'reliable-messaging:role': role, ...more },
});

/** A deployed stack. */
export interface DeployedStack {
  readonly name: string;
  /** The resources of its template, by logical ID. */
  readonly resources: Readonly<Record<string, unknown>>;
  /** The physical ID of each of its resources, by logical ID. */
  readonly physical: Readonly<Record<string, string>>;
  /** Its outputs; none listed when undefined. */
  readonly outputs?: Readonly<Record<string, string>> | undefined;
}

/** The mocked CloudFormation answers as `stack` deployed: described, its template, its resources listed. */
export function givenDeployedStack(stack: DeployedStack): void {
  const outputs = stack.outputs;
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: stack.name,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        ...(outputs === undefined
          ? {}
          : {
              Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({
                OutputKey,
                OutputValue,
              })),
            }),
      },
    ],
  });
  cloudFormation
    .on(GetTemplateCommand)
    .resolves({ TemplateBody: JSON.stringify({ Resources: stack.resources }) });
  cloudFormation.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: Object.entries(stack.physical).map(([LogicalResourceId, PhysicalResourceId]) => ({
      LogicalResourceId,
      PhysicalResourceId,
      ResourceType: 'AWS::Any',
      ResourceStatus: 'CREATE_COMPLETE' as const,
      LastUpdatedTimestamp: new Date(),
    })),
  });
}

/** resolveTarget's dependencies: no environment, only `files` to read, the mocked CloudFormation in `region`. */
export const targetDependencies = (
  region: string,
  files: Record<string, string> = {},
): TargetDependencies => ({
  env: {},
  readFile: (path) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  },
  cloudFormation: () => new CloudFormationClient({ region }),
});

/** What `promise` rejects with; fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}
