import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError } from '../errors.ts';
import { checkCommand } from './command-policy.ts';
import { childEnvironment, unsafeEnvReason } from './env-policy.ts';
import { checkStdioRequest } from './stdio-policy.ts';

const refused = (command: string, ...args: string[]) => checkCommand(command, args) !== undefined;

test('a shell told to run a command line is refused, however it is named or wrapped', () => {
  const cases: string[][] = [
    ['sh', '-c', 'echo hi'],
    ['/bin/sh', '-c', 'x'],
    ['bash', '-c', 'x'],
    ['/usr/bin/bash', '-ec', 'x'],
    ['bash', '-o', 'pipefail', '-c', 'x'],
    ['dash', '-c', 'x'],
    ['zsh', '-c', 'x'],
    ['ksh', '-c', 'x'],
    ['fish', '-c', 'x'],
    ['fish', '--command=x'],
    ['BASH.EXE', '-c', 'x'],
    ['cmd', '/c', 'dir'],
    ['cmd.exe', '/C', 'dir'],
    ['C:\\Windows\\System32\\cmd.exe', '/k', 'dir'],
    ['powershell', '-Command', 'Get-Process'],
    ['pwsh', '-c', 'x'],
    ['pwsh', '-NoProfile', '-EncodedCommand', 'eAA='],
    ['pwsh', '-comm', 'x'],
    ['powershell.exe', 'Get-Process'],
    ['/usr/bin/env', 'sh', '-c', 'x'],
    ['env', 'FOO=1', 'bash', '-c', 'x'],
    ['env', '-S', 'sh -c x'],
    ['busybox', 'sh', '-c', 'x'],
    ['/bin/busybox', 'ash', '-c', 'x'],
    ['nice', '-n', '5', 'sh', '-c', 'x'],
    ['timeout', '10', 'env', 'sh', '-c', 'x'],
    ['npx', '-c', 'echo hi'],
  ];
  for (const [command = '', ...args] of cases) assert.ok(refused(command, ...args), `${[command, ...args].join(' ')} must be refused`);
});

test('a shell or interpreter that would read its program from stdin is refused: clients write there', () => {
  for (const argv of [['sh'], ['bash', '-s'], ['bash', '-i'], ['node'], ['node', '-'], ['python3'], ['python', '-u'], ['perl'], ['env', 'python3']]) {
    const [command = '', ...args] = argv;
    assert.ok(refused(command, ...args), `${argv.join(' ')} must be refused`);
  }
});

test('interpreters with code on the command line are refused', () => {
  const cases: string[][] = [
    ['node', '-e', 'x'],
    ['node', '--eval', 'x'],
    ['node', '--eval=x'],
    ['node', '-p', '1'],
    ['node', '-pe', '1'],
    ['node', '--print', '1'],
    ['/usr/local/bin/node', '--no-warnings', '-e', 'x'],
    ['node', '--import', 'data:text/javascript,process.exit()', 'server.js'],
    ['node', '--import=data:text/javascript,1', 'server.js'],
    ['nodejs', '-e', 'x'],
    ['bun', '--eval', 'x'],
    ['python', '-c', 'x'],
    ['python3', '-c', 'x'],
    ['python3.12', '-uc', 'x'],
    ['python', '-B', '-c', 'x'],
    ['perl', '-e', 'x'],
    ['perl', '-ne', 'x'],
    ['ruby', '-e', 'x'],
    ['php', '-r', 'x'],
    ['lua', '-e', 'x'],
    ['deno', 'eval', 'x'],
  ];
  for (const [command = '', ...args] of cases) assert.ok(refused(command, ...args), `${[command, ...args].join(' ')} must be refused`);
});

test('an argv that runs a program or a script is allowed, whatever its own arguments are', () => {
  const cases: string[][] = [
    ['node', 'server.js', '-e', 'production'],
    ['node', '--no-warnings', '--import', './register.js', 'server.js'],
    ['node', '--max-old-space-size=512', 'dist/index.js', 'stdio'],
    ['python3', '-m', 'mcp_server_fetch'],
    ['python', '-u', 'server.py', '-c', 'config.yaml'],
    ['python', '-Wignore', 'server.py'],
    ['bash', 'run-server.sh'],
    ['sh', '-e', 'start.sh'],
    ['npx', '-y', '@modelcontextprotocol/server-filesystem', '/data'],
    ['uvx', 'mcp-server-git'],
    ['/opt/mcp/bin/server', '--stdio'],
    ['docker', 'run', '-i', '--rm', 'mcp/github'],
    ['env', 'FOO=1', '/opt/mcp/server'],
    ['pwsh', '-NoProfile', '-File', 'server.ps1'],
    ['perl', 'server.pl'],
  ];
  for (const [command = '', ...args] of cases) assert.equal(checkCommand(command, args), undefined, `${[command, ...args].join(' ')} must be allowed`);
});

test('loader and interpreter variables are refused, in any case; ordinary ones are not', () => {
  for (const name of ['LD_PRELOAD', 'LD_LIBRARY_PATH', 'ld_preload', 'LD_AUDIT', 'DYLD_INSERT_LIBRARIES', 'NODE_OPTIONS', 'NODE_PATH', 'NODE_TLS_REJECT_UNAUTHORIZED', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PERL5LIB', 'PERL5OPT', 'RUBYOPT', 'BASH_ENV', 'ENV', 'BASH_FUNC_x%%', 'JAVA_TOOL_OPTIONS', 'GCONV_PATH', 'GATEHOUSE_MASTER_KEY']) {
    assert.ok(unsafeEnvReason(name) !== undefined, `${name} must be refused`);
  }
  for (const name of ['GITHUB_TOKEN', 'API_KEY', 'NODE_ENV', 'PYTHONUNBUFFERED', 'HOME', 'PATH', 'LOG_LEVEL', 'ENVIRONMENT', 'MY_LD_PATH']) {
    assert.equal(unsafeEnvReason(name), undefined, `${name} must be allowed`);
  }
});

test('the refusal names what it refused and how to force it; forcing lets it through', () => {
  const attempt = (r: Parameters<typeof checkStdioRequest>[0]) => {
    try {
      checkStdioRequest(r);
      return undefined;
    } catch (err) {
      assert.ok(err instanceof GatehouseError);
      return err;
    }
  };
  const shell = attempt({ command: 'sh', args: ['-c', 'x'], envNames: [] });
  assert.ok(shell !== undefined);
  assert.equal(shell.code, 'stdio_refused');
  assert.match(shell.message, /sh -c .*--allow-shell/);
  assert.equal(attempt({ command: 'sh', args: ['-c', 'x'], envNames: [], allowShell: true }), undefined);

  const env = attempt({ command: '/opt/server', args: [], envNames: ['OK', 'LD_PRELOAD'] });
  assert.ok(env !== undefined);
  assert.equal(env.code, 'stdio_refused');
  assert.match(env.message, /LD_PRELOAD.*--allow-unsafe-env/);
  assert.deepEqual(env.data, { refused: 'env', variable: 'LD_PRELOAD' });
  assert.equal(attempt({ command: '/opt/server', args: [], envNames: ['LD_PRELOAD'], allowUnsafeEnv: true }), undefined);
  // One force does not imply the other.
  assert.equal(attempt({ command: 'sh', args: ['-c', 'x'], envNames: [], allowUnsafeEnv: true })?.code, 'stdio_refused');
});

test("a child's environment is the basics and what it declares, never the rest of the gateway's", () => {
  const env = childEnvironment({ TOKEN: 't' }, { PATH: '/bin', HOME: '/root', LC_ALL: 'C', GATEHOUSE_MASTER_KEY: 'k', AWS_SECRET_ACCESS_KEY: 's', LD_PRELOAD: 'x', FN: '() { :; }' });
  assert.deepEqual(env, { PATH: '/bin', HOME: '/root', LC_ALL: 'C', TOKEN: 't' });
});
