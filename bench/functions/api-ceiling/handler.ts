import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * FOR BENCHMARKS ONLY (the ApiCeilingProbe construct): the cheapest function the API gateway can call — it reads
 * the JSON body and answers 201, touching nothing else. `npm run bench` drives it like the orders API, with the same
 * client and concurrency, to measure what the gateway and Lambda alone cost on this machine (`rawApiPerSecond`).
 */
export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const body = event.body === undefined ? {} : (JSON.parse(event.body) as unknown);
  return {
    statusCode: 201,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accepted: typeof body === 'object' && body !== null }),
  };
};
