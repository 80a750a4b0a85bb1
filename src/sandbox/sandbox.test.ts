import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError } from '../errors.ts';
import { planSpawn, type SandboxSettings, type SandboxSupport } from './sandbox.ts';

const WORKS: SandboxSupport = { bwrap: '/usr/bin/bwrap', prlimit: '/usr/bin/prlimit', works: true, problem: undefined };
const MISSING: SandboxSupport = { bwrap: undefined, prlimit: '/usr/bin/prlimit', works: false, problem: 'bubblewrap (bwrap) is not installed' };
const settings = (mode: SandboxSettings['mode'], hide: string[] = []): SandboxSettings => ({ mode, limits: { memoryMb: 2048, cpuSeconds: 60, maxFiles: 256 }, hide });
const launch = { command: 'node', args: ['server.js'], env: { TOKEN: 'secret-value', LD_PRELOAD: '/forced.so' }, network: false };

test('bwrap: read-only root, private /tmp, namespaces, no network, no capabilities; prlimit runs the command', () => {
  // A directory outside /tmp (under /tmp the private tmpfs hides it already; the test may run from a checkout there).
  const plan = planSpawn(launch, settings('auto', ['/usr/share']), WORKS);
  assert.equal(plan.file, '/usr/bin/bwrap');
  assert.equal(plan.sandbox, 'bwrap');
  const a = plan.args.join(' ');
  for (const flag of ['--unshare-pid', '--unshare-net', '--die-with-parent', '--new-session', '--cap-drop ALL', '--ro-bind / /', '--dev /dev', '--proc /proc', '--tmpfs /tmp']) {
    assert.ok(a.includes(flag), `${flag} in ${a}`);
  }
  assert.ok(a.includes('--tmpfs /usr/share'), 'a hidden directory gets an empty tmpfs over it');
  assert.ok(a.endsWith(`-- /usr/bin/prlimit --nofile=256 --core=0 --as=${String(2048 * 1024 * 1024)} --cpu=60 -- node server.js`), a);
});

test('secrets travel in the environment, never in argv; loader variables are set inside the sandbox only', () => {
  const plan = planSpawn(launch, settings('bwrap'), WORKS);
  assert.ok(!plan.args.includes('secret-value'));
  assert.equal(plan.env.TOKEN, 'secret-value');
  assert.equal(plan.env.LD_PRELOAD, undefined, 'bwrap itself is not started with a forced LD_PRELOAD');
  assert.ok(plan.args.join(' ').includes('--setenv LD_PRELOAD /forced.so'));
});

test('a connector that declares the network keeps it', () => {
  assert.ok(!planSpawn({ ...launch, network: true }, settings('auto'), WORKS).args.includes('--unshare-net'));
});

test('auto without a sandbox runs unsandboxed (with limits); bwrap without one refuses; off never sandboxes', () => {
  const auto = planSpawn(launch, settings('auto'), MISSING);
  assert.equal(auto.sandbox, 'none');
  assert.equal(auto.file, '/usr/bin/prlimit');
  assert.throws(() => planSpawn(launch, settings('bwrap'), MISSING), (e: unknown) => e instanceof GatehouseError && e.code === 'sandbox_unavailable');
  const off = planSpawn(launch, settings('off'), WORKS);
  assert.equal(off.sandbox, 'none');
  assert.deepEqual(off.args.slice(-3), ['--', 'node', 'server.js']);
});
