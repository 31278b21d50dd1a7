import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, SUMMARIES, type CommandName } from '../../src/commands/index.js';
import { OptionError } from '../../src/core/errors.js';
import { resolveCommand, roleHelp } from '../../src/core/role.js';

describe('src/commands/index.ts', () => {
  it('each role module has the name it is listed under and reads its summary from the table', async () => {
    for (const [name, entry] of Object.entries(COMMANDS) as [CommandName, (typeof COMMANDS)[CommandName]][]) {
      const role = (await entry.load()).default;
      expect(role.name).toBe(name);
      expect(role.summary, name).toBe(SUMMARIES[name]);
      expect(entry.summary).toBe(SUMMARIES[name]);
      expect(roleHelp(role).split('\n')[0]).toBe(`netlab ${name}: ${SUMMARIES[name]}`);
    }
  });

  it('loads no role module itself: main.ts stays free of every role\'s dependencies until one is named', () => {
    const source = readFileSync(new URL('../../src/commands/index.ts', import.meta.url), 'utf8');
    const staticImports = [...source.matchAll(/^import (?!type )[^;]*? from '([^']+)'/gm)].map((m) => m[1]);
    expect(staticImports).toEqual([]);
    const main = readFileSync(new URL('../../src/main.ts', import.meta.url), 'utf8');
    expect([...main.matchAll(/from '\.\/commands\/([^']+)'/g)].map((m) => m[1])).toEqual(['index.js']);
  });
});

describe('subcommands', () => {
  it('dispatcher dead-letters is declared as one, with its own flags, and takes the arguments after its name', async () => {
    const dispatcher = (await COMMANDS.dispatcher.load()).default;
    const { command, argv, title } = resolveCommand(dispatcher, ['dead-letters', '--data', '/x']);
    expect(title).toBe('dispatcher dead-letters');
    expect(argv).toEqual(['--data', '/x']);
    expect(command.tool).toBe(true);
    expect(Object.keys(command.options)).toEqual(['data']);
    expect(command.options['data']).toBe(dispatcher.options['data']); // one --data, same env and default
    expect(roleHelp(command, title)).toMatch(/^netlab dispatcher dead-letters: /);
    expect(roleHelp(dispatcher)).toMatch(/\nSubcommands \(each has its own --help\):\n {2}dead-letters {2}/);
  });

  it('flags first is the role itself; an unknown name is bad usage naming the subcommands', async () => {
    const dispatcher = (await COMMANDS.dispatcher.load()).default;
    expect(resolveCommand(dispatcher, ['--port', '1']).command).toBe(dispatcher);
    expect(resolveCommand(dispatcher, []).command).toBe(dispatcher);
    expect(() => resolveCommand(dispatcher, ['nope'])).toThrow(new OptionError('unknown subcommand "nope" (the only one is dead-letters)'));
    const messenger = (await COMMANDS.messenger.load()).default;
    expect(resolveCommand(messenger, ['extra']).command).toBe(messenger); // its parser then refuses "extra"
  });
});
