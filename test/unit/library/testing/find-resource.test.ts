import { describe, expect, it } from 'vitest';
import {
  type DeployedStack,
  findResource,
  ResourceNotFoundError,
} from '../../../../lib/testing/deployed-stack';

const resource = (logicalId: string, type: string, constructPath?: string) => ({
  logicalId,
  physicalId: `physical-${logicalId}`,
  type,
  constructPath,
  metadata: {},
});

const stack: DeployedStack = {
  stackName: 'ShopMessaging',
  endpoint: 'http://127.0.0.1:4566',
  region: 'us-east-1',
  outputs: {},
  resources: [
    resource(
      'ProducerFunctionServiceRoleB700BBD3',
      'AWS::IAM::Role',
      'ShopMessaging/ProducerFunction/ServiceRole/Resource',
    ),
    resource('ProducerFunction96264A1C', 'AWS::Lambda::Function', 'ShopMessaging/ProducerFunction/Resource'),
    resource('ViewsC0DDE3FE', 'AWS::DynamoDB::GlobalTable', 'ShopMessaging/Views/Resource'),
    resource(
      'ShopConsumerFunctionAB12',
      'AWS::Lambda::Function',
      'ShopMessaging/Shop/ConsumerFunction/Resource',
    ),
    resource('LegacyTable1234', 'AWS::DynamoDB::Table'),
  ],
};

describe('findResource', () => {
  it("finds a construct's resource by its path below the stack", () => {
    expect(findResource(stack, 'Views').physicalId).toBe('physical-ViewsC0DDE3FE');
  });

  it('picks the resource of the type asked for among the construct’s resources', () => {
    expect(findResource(stack, 'ProducerFunction', 'AWS::Lambda::Function').logicalId).toBe(
      'ProducerFunction96264A1C',
    );
  });

  it('finds a construct nested deeper than the stack by its ID alone, or by its path', () => {
    expect(findResource(stack, 'ConsumerFunction', 'AWS::Lambda::Function').logicalId).toBe(
      'ShopConsumerFunctionAB12',
    );
    expect(findResource(stack, 'Shop/ConsumerFunction').logicalId).toBe('ShopConsumerFunctionAB12');
  });

  it('falls back to the logical ID when the template has no construct paths', () => {
    expect(findResource(stack, 'LegacyTable').logicalId).toBe('LegacyTable1234');
  });

  it('fails if more than one resource answers, naming them', () => {
    expect(() => findResource(stack, 'ProducerFunction')).toThrow(ResourceNotFoundError);
    expect(() => findResource(stack, 'ProducerFunction')).toThrow(
      /ProducerFunctionServiceRoleB700BBD3, ProducerFunction96264A1C/,
    );
  });

  it('fails if no resource answers, or none of the type asked for', () => {
    expect(() => findResource(stack, 'Nothing')).toThrow(/no resource of ShopMessaging answers to "Nothing"/);
    expect(() => findResource(stack, 'Views', 'AWS::Lambda::Function')).toThrow(
      /no resource of type AWS::Lambda::Function/,
    );
  });
});
