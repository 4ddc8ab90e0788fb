/** What the harness needs from each system under test; the harness itself is the same for all. */
import type { PublishEncoding } from "../load/publisher.ts";

export interface RunningSystem {
  readonly host: string;
  readonly port: number;
  /** Path a subscriber GETs for the channel's event stream. */
  subscribePath(channel: string): string;
  /** Path the publisher POSTs one event's data to (text/plain body). */
  publishPath(channel: string): string;
  readonly publishHeaders: Readonly<Record<string, string>>;
  /** How an event is published, when not as the text/plain body of one POST (the Mercure hub's form). */
  readonly publishEncoding?: PublishEncoding;
  /** Root of the server's process tree; memory and CPU are summed over it. */
  readonly pid: number;
  /** Names the processes of the tree by role (e.g. "dev proxy"), for the file-descriptor analysis. */
  roleOf(pid: number): string;
  output(): string;
  stop(): Promise<void>;
  /** The relay only: what its stats endpoint says about the channel (subscribers per object). */
  channelStats?(channel: string): Promise<ChannelStatsReading>;
}

/** The part of the relay's GET /v1/channels/{c} answer the bench records. */
export interface ChannelStatsReading {
  readonly mode: string;
  /** Streams open, across the channel object and its fan-out objects. */
  readonly subscribers: number;
  readonly fanouts: readonly { readonly name: string; readonly subscribers: number }[];
}

export interface StartContext {
  /** A fresh directory for this server's files (configs, storage, logs). */
  readonly workDir: string;
  /** taskset CPU list for the server, or undefined to leave it unpinned. */
  readonly cpus: string | undefined;
}

export interface SystemDefinition {
  /** Short key used in results and on the command line: relay, relay-direct, relay-fanout, nchan, node, relay-dev. */
  readonly id: string;
  readonly label: string;
  /** Checks the system can run here; throws a message saying what to install. */
  check(): Promise<void>;
  start(context: StartContext): Promise<RunningSystem>;
  /** Versions of the software involved, for the write-up. */
  versions(): Promise<Record<string, string>>;
}
