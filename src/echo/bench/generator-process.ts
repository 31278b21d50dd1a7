// Entry of one load-generator process, forked by echo-bench: runs commands from its parent over IPC.
import type { Socket } from 'node:net';
import { EXIT_OK } from '../../core/exit-codes.js';
import type { FromGenerator, ToGenerator } from './generator-protocol.js';
import { ClosedLoopGenerator, openSockets } from './load-generator.js';

let generator: ClosedLoopGenerator | undefined;
let held: Socket[] = [];

function reply(msg: FromGenerator): void {
  if (process.connected) process.send!(msg);
}

async function handle(msg: ToGenerator): Promise<void> {
  switch (msg.type) {
    case 'open': {
      generator = new ClosedLoopGenerator(msg.requestTimeoutMs);
      reply({ type: 'opened', ...(await generator.open(msg)) });
      return;
    }
    case 'start': {
      if (!generator) throw new Error('start before open');
      const result = await generator.run(msg.warmupMs, msg.durationMs);
      generator = undefined;
      reply({ type: 'result', result });
      return;
    }
    case 'hold': {
      const { sockets, opened, errors } = await openSockets(msg.host, msg.port, msg.connections);
      for (const s of sockets) s.on('error', () => {});
      held.push(...sockets);
      reply({ type: 'held', opened, errors });
      return;
    }
    case 'release': {
      for (const s of held) s.destroy();
      held = [];
      reply({ type: 'released' });
      return;
    }
  }
}

process.on('message', (msg: ToGenerator) => {
  handle(msg).catch((err: Error) => reply({ type: 'failed', message: err.message }));
});
// The bench is gone: nothing left to do.
process.on('disconnect', () => process.exit(EXIT_OK));
reply({ type: 'ready' });
