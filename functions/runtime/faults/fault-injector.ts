import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ReliableMessagingError } from '../errors';
import { type FaultConfig, parseFaultConfig } from './fault-config';
import { FAULTS_PARAMETER_ENV } from './fault-environment';

/** The error an injected crash throws: the process "dies" at that point. */
export class InjectedFaultError extends ReliableMessagingError {
  constructor(fault: string) {
    super(`injected fault: ${fault}`);
    this.name = 'InjectedFaultError';
  }
}

/** Reads the current fault configuration; answers `{}` (no faults) in any stack built without them. */
export interface FaultSource {
  current(): Promise<FaultConfig>;
}

/** No faults: what every production function uses. */
export const NO_FAULTS: FaultSource = { current: async () => ({}) };

/** The fault configuration in an SSM parameter, re-read at most every `ttlMs`. */
export class ParameterFaultSource implements FaultSource {
  private cached: { config: FaultConfig; at: number } | undefined;

  constructor(
    private readonly ssm: SSMClient,
    private readonly parameterName: string,
    private readonly ttlMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<FaultConfig> {
    if (this.cached !== undefined && this.now() - this.cached.at < this.ttlMs) return this.cached.config;
    const response = await this.ssm.send(new GetParameterCommand({ Name: this.parameterName }));
    const config = parseFaultConfig(response.Parameter?.Value ?? '{}');
    this.cached = { config, at: this.now() };
    return config;
  }
}

/** The fault source named by FAULTS_PARAMETER_NAME (FAULTS_PARAMETER_ENV) (set only in a stack built with fault injection). */
export function faultSourceFromEnvironment(env: NodeJS.ProcessEnv = process.env): FaultSource {
  const parameterName = env[FAULTS_PARAMETER_ENV];
  if (parameterName === undefined || parameterName === '') return NO_FAULTS;
  return new ParameterFaultSource(new SSMClient({}), parameterName);
}

/** True with probability `rate`. */
export function chance(rate: number | undefined, random: () => number = Math.random): boolean {
  return rate !== undefined && rate > 0 && random() < rate;
}
