import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
} from '@aws-sdk/client-cloudformation';
import { stackResources } from '../ops/stack-resources';

/** One resource of a deployed stack. */
export interface StackResource {
  readonly logicalId: string;
  /** A table's name, a queue's URL, a function's name, a topic's ARN… */
  readonly physicalId: string;
  /** The CloudFormation type, e.g. `AWS::Lambda::Function`. */
  readonly type: string;
  /** Its construct path in the CDK app (`aws:cdk:path`), e.g. `ShopMessaging/ProducerFunction/Resource`. */
  readonly constructPath: string | undefined;
  /** Its CloudFormation metadata (e.g. the library's `reliable-messaging:role`). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A stack deployed to an emulator: where it is, its outputs and its resources. */
export interface DeployedStack {
  readonly stackName: string;
  readonly endpoint: string;
  readonly region: string;
  readonly outputs: Readonly<Record<string, string>>;
  readonly resources: readonly StackResource[];
}

/** Where a deployed stack is. */
export interface StackLocation {
  readonly stackName: string;
  /** The emulator's endpoint. */
  readonly endpoint: string;
  /**
   * @default the environment's `AWS_REGION`, else `us-east-1`
   */
  readonly region?: string;
}

/** No resource, or more than one, answers to a construct ID. */
export class ResourceNotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResourceNotFoundError';
  }
}

/** SDK client settings for an emulator: its endpoint, a region and test credentials (unless the environment has some). */
export function emulatorClientConfig(stack: Pick<DeployedStack, 'endpoint' | 'region'>) {
  return {
    endpoint: stack.endpoint,
    region: stack.region,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  };
}

interface Template {
  readonly Resources?: Readonly<Record<string, { readonly Metadata?: Readonly<Record<string, unknown>> }>>;
}

/** Reads a deployed stack: its outputs (DescribeStacks), resources (ListStackResources) and template's metadata. */
export async function describeStack(location: StackLocation): Promise<DeployedStack> {
  const where = {
    endpoint: location.endpoint.replace(/\/+$/, ''),
    region: location.region ?? process.env.AWS_REGION ?? 'us-east-1',
  };
  const cloudFormation = new CloudFormationClient(emulatorClientConfig(where));
  try {
    const [described, template, summaries] = await Promise.all([
      cloudFormation.send(new DescribeStacksCommand({ StackName: location.stackName })),
      cloudFormation.send(new GetTemplateCommand({ StackName: location.stackName })),
      stackResources(cloudFormation, location.stackName),
    ]);
    const outputs = Object.fromEntries(
      (described.Stacks?.[0]?.Outputs ?? []).flatMap((output) =>
        output.OutputKey === undefined || output.OutputValue === undefined
          ? []
          : [[output.OutputKey, output.OutputValue] as const],
      ),
    );
    const templateResources = (JSON.parse(template.TemplateBody ?? '{}') as Template).Resources ?? {};
    const resources = summaries.map((summary): StackResource => {
      const logicalId = summary.LogicalResourceId ?? '';
      const metadata = templateResources[logicalId]?.Metadata ?? {};
      const constructPath = metadata['aws:cdk:path'];
      return {
        logicalId,
        physicalId: summary.PhysicalResourceId ?? '',
        type: summary.ResourceType ?? '',
        constructPath: typeof constructPath === 'string' ? constructPath : undefined,
        metadata,
      };
    });
    return { stackName: location.stackName, ...where, outputs, resources };
  } finally {
    cloudFormation.destroy();
  }
}

/**
 * The resource of `stack` that the construct `constructId` (a construct ID, or a path below the stack such as
 * `Shop/ProducerFunction`) defines, of `type` if given: the one whose construct path is `<stack>/<id>/…`, else the
 * one whose path has `/<id>/` in it, else the one whose logical ID starts with the ID's letters and digits.
 * Throws {@link ResourceNotFoundError} when none, or more than one, answers.
 */
export function findResource(stack: DeployedStack, constructId: string, type?: string): StackResource {
  const candidates = stack.resources.filter((resource) => type === undefined || resource.type === type);
  const id = constructId.replace(/^\/+|\/+$/g, '');
  const rules: readonly ((resource: StackResource) => boolean)[] = [
    (resource) => resource.constructPath?.startsWith(`${stack.stackName}/${id}/`) === true,
    (resource) => resource.constructPath?.includes(`/${id}/`) === true,
    (resource) => resource.logicalId.startsWith(id.replace(/[^A-Za-z0-9]/g, '')),
  ];
  for (const rule of rules) {
    const found = candidates.filter(rule);
    if (found.length === 1 && found[0] !== undefined) return found[0];
    if (found.length > 1) {
      throw new ResourceNotFoundError(
        `${found.length} resources${type === undefined ? '' : ` of type ${type}`} of ${stack.stackName} answer to ` +
          `${JSON.stringify(constructId)} (${found.map((resource) => resource.logicalId).join(', ')}): give the type, ` +
          'or a longer path',
      );
    }
  }
  throw new ResourceNotFoundError(
    `no resource${type === undefined ? '' : ` of type ${type}`} of ${stack.stackName} answers to ` +
      `${JSON.stringify(constructId)}`,
  );
}
