// Every role `netlab` knows: its name, its one-line summary (the one place it is written: `netlab --help`
// lists it and the role's own --help shows it), and how to load it. Roles load lazily, only the one
// named on the command line, so one role's dependencies (a broker client, LMDB) never slow down or break
// another; this file imports none of them.
import type { Role } from '../core/role.js';

export type RoleModule = { default: Role };

export interface CommandEntry {
  summary: string;
  load: () => Promise<RoleModule>;
}

/** Each role's one-line summary, in the order `netlab --help` lists them. */
export const SUMMARIES = {
  messenger: 'HTTP chat store on PostgreSQL: gap-free global order and per-user counters across replicas',
  'messenger-bench': 'the exercise client: concurrent workers post messages to messenger replicas and report latency and throughput',
  dispatcher: 'SSE work dispatcher: batches to free workers, leases, 3 attempts, LMDB dead letters; nothing lost across crashes',
  worker: 'the exercise client: takes batches from a dispatcher over SSE, sleeps each period, panics over 800, exits over 900',
  'dispatch-lab': 'a dispatcher plus chaotic worker processes (restarted when they exit), a dispatcher SIGKILL, and the final accounting',
  'pingpong-server': 'TCP ping-pong server: answers "[n] PING" with "[k/n] PONG (id)" after a random delay, ignores 10%, broadcasts keepalives',
  'pingpong-client': 'TCP ping-pong client (or N of them): sends "[n] PING" every 300-3000 ms, pairs PONGs by n, logs timeouts and keepalives, reconnects',
  pingpong: 'the exercise run.py: starts a ping-pong server and N clients as processes, stops them after --duration, checks the logs',
  tick: 'exchange drift-free ticks with a peer over NATS or RabbitMQ; print one-way dt, RTT/2, loss',
  'tick-lab': 'run app1/app2 as separate tick processes over each bus and report dt, RTT/2, loss and drift',
  'echo-server': 'TCP byte-stream echo under a concurrency model: one event loop, cluster processes, or threads sharing the port',
  lab: 'run every experiment on this machine as real processes and write one report (what `npm start` runs)',
  'echo-load': 'steady paced traffic to an echo server elsewhere (the chart\'s echo Deployment): N connections, each one message every 1/rate s, every echo checked',
  'echo-bench': 'closed-loop load on each echo model (and Python baselines) from separate generator processes; JSON, PNG chart and HTML',
} as const;

export type CommandName = keyof typeof SUMMARIES;

/** The summary of `name`, for its defineRole. */
export const summaryOf = (name: CommandName): string => SUMMARIES[name];

export const COMMANDS: Record<CommandName, CommandEntry> = {
  messenger: { summary: SUMMARIES['messenger'], load: () => import('./messenger.js') },
  'messenger-bench': { summary: SUMMARIES['messenger-bench'], load: () => import('./messenger-bench.js') },
  dispatcher: { summary: SUMMARIES['dispatcher'], load: () => import('./dispatcher.js') },
  worker: { summary: SUMMARIES['worker'], load: () => import('./worker.js') },
  'dispatch-lab': { summary: SUMMARIES['dispatch-lab'], load: () => import('./dispatch-lab.js') },
  'pingpong-server': { summary: SUMMARIES['pingpong-server'], load: () => import('./pingpong-server.js') },
  'pingpong-client': { summary: SUMMARIES['pingpong-client'], load: () => import('./pingpong-client.js') },
  pingpong: { summary: SUMMARIES['pingpong'], load: () => import('./pingpong.js') },
  tick: { summary: SUMMARIES['tick'], load: () => import('./tick.js') },
  'tick-lab': { summary: SUMMARIES['tick-lab'], load: () => import('./tick-lab.js') },
  'echo-server': { summary: SUMMARIES['echo-server'], load: () => import('./echo-server.js') },
  lab: { summary: SUMMARIES['lab'], load: () => import('./lab.js') },
  'echo-load': { summary: SUMMARIES['echo-load'], load: () => import('./echo-load.js') },
  'echo-bench': { summary: SUMMARIES['echo-bench'], load: () => import('./echo-bench.js') },
};

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);
