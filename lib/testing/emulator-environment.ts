/**
 * Environment for the AWS SDK and the CDK CLI against an emulator at `endpoint`: the endpoint
 * (`AWS_ENDPOINT_URL`), test credentials and a region unless `base` has its own, and no CDK notices or telemetry.
 */
export function emulatorEnvironment(
  endpoint: string,
  base: NodeJS.ProcessEnv = process.env,
): Readonly<Record<string, string>> {
  const region = base.AWS_REGION ?? base.AWS_DEFAULT_REGION ?? 'us-east-1';
  const inherited = Object.fromEntries(
    Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return {
    ...inherited,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: base.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: base.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}
