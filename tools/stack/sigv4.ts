import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, Provider, SourceData } from '@smithy/types';

/** SHA-256 (HMAC-SHA-256 with a secret) over node:crypto, as SignatureV4 wants it. */
export class Sha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** Signs one HTTP request: returns the headers to send (without `host`, which fetch sets to the signed value). */
export type RequestSigner = (
  method: string,
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string | undefined,
) => Promise<Record<string, string>>;

/** A SigV4 signer for API Gateway (`execute-api`): what an IAM-authorized route (the default on AWS) requires. */
export function executeApiSigner(
  region: string | Provider<string>,
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>,
): RequestSigner {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  return async (method, url, headers, body) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body,
    });
    const { host: _host, ...sent } = signed.headers;
    return sent;
  };
}
