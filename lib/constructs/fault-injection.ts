import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { FAULTS_PARAMETER_ENV } from '../../functions/runtime/faults/fault-environment';

/**
 * The fault-injection switchboard of a TEST stack: an SSM parameter holding the faults to inject (JSON, see
 * `functions/runtime/faults/fault-config.ts`; `{}` = none), read by every function built with it. Functions
 * built without it have no fault code at all (the bundler drops it), no parameter name and no permission to
 * read one, so no fault is reachable in a stack deployed without this construct.
 */
export class FaultInjection extends Construct {
  public readonly parameter: ssm.StringParameter;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.parameter = new ssm.StringParameter(this, 'Faults', {
      description: 'Faults to inject into the reliable messaging functions (test stacks only)',
      stringValue: '{}',
    });
  }

  /** Lets `fn` read the fault configuration. The function must also be bundled with fault injection on. */
  configure(fn: lambda.Function): void {
    fn.addEnvironment(FAULTS_PARAMETER_ENV, this.parameter.parameterName);
    this.parameter.grantRead(fn);
  }
}
