import { describe, expect, it } from 'vitest';
import { emulatorEnvironment } from '../../../../lib/testing/emulator-environment';
import { emulatorFiles, startLocalEmulator, stopLocalEmulator } from '../../../../lib/testing/local-emulator';

describe('the local emulator', () => {
  it('keeps one PID file and one log per port, so two emulators of one project do not share them', () => {
    // GIVEN one project directory WHEN two ports are used THEN their files differ, and the virtualenv is shared
    const a = emulatorFiles('/p/.local', 4566);
    const b = emulatorFiles('/p/.local', 4599);
    expect(a.pidFile).toBe('/p/.local/ministack-4566.pid');
    expect(b.pidFile).toBe('/p/.local/ministack-4599.pid');
    expect(a.logFile).not.toBe(b.logFile);
    expect(a.venv).toBe(b.venv);
  });

  it('fails if the port is not one, and starts or stops nothing', async () => {
    await expect(startLocalEmulator({ port: 0, endpoint: '' })).rejects.toThrow(
      'port must be an integer from 1 to 65535; got 0',
    );
    await expect(stopLocalEmulator({ port: 70_000 })).rejects.toThrow(RangeError);
  });

  it('fails if the emulator AWS_ENDPOINT_URL names does not answer, and starts none', async () => {
    await expect(startLocalEmulator({ endpoint: 'http://127.0.0.1:9/' })).rejects.toThrow(
      'the emulator at http://127.0.0.1:9 (AWS_ENDPOINT_URL) does not answer a health check',
    );
  });
});

describe('emulatorEnvironment', () => {
  it('points the SDK and the CDK CLI at the emulator, with test credentials and a region by default', () => {
    expect(emulatorEnvironment('http://127.0.0.1:4599', { PATH: '/bin' })).toEqual({
      PATH: '/bin',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4599',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_DISABLE_CLI_TELEMETRY: 'true',
    });
  });

  it("keeps the environment's own credentials and region, and overrides its endpoint", () => {
    const env = emulatorEnvironment('http://127.0.0.1:4566', {
      AWS_ENDPOINT_URL: 'https://elsewhere',
      AWS_ACCESS_KEY_ID: 'mine',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_ACCESS_KEY_ID: 'mine',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'eu-west-1',
    });
  });
});
