/**
 * A load-generator child process: holds its share of the N subscribers as
 * raw TCP connections, timestamps every delivery, and answers the
 * coordinator over IPC. Several of these split N so no process nears the
 * 20,000 open-file limit and parsing is spread over processes.
 */
import { connect, type Socket } from "node:net";
import { Histogram } from "../lib/histogram.ts";
import { decodePayload, nowUs } from "./payload.ts";
import type { OpenCommand, WorkerCommand, WorkerMessage } from "./protocol.ts";
import { SseStreamParser } from "./sse-stream.ts";

const OPEN_TIMEOUT_MS = 60_000;
const MAX_ERRORS_KEPT = 20;
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

interface Subscription {
  socket: Socket;
  opened: boolean;
  received: number;
  lastSeq: number;
  /** One bit per event of the step: which arrived (publishes race, so arrival order is not send order). */
  seen: Uint8Array;
}

const subscriptions: Subscription[] = [];
const errors: string[] = [];
let closing = false;

let step = -1;
let expected = 0;
let received = 0;
let complete = 0;
let dropped = 0;
let duplicates = 0;
let reordered = 0;
let stale = 0;
let firstReceiveUs = 0;
let lastReceiveUs = 0;
let latency = new Histogram();
let cpuAtStep = process.cpuUsage();
/** Time of the socket read being parsed: every event in one read arrived together. */
let receiveUs = 0;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function noteError(message: string): void {
  if (errors.length < MAX_ERRORS_KEPT) errors.push(message);
}

/** Opens `count` subscriptions, at most `concurrency` in progress at a time. */
function openAll(command: OpenCommand): void {
  const openTimes = new Histogram();
  const firstStartUs = nowUs();
  let lastOpenUs = firstStartUs;
  let started = 0;
  let opened = 0;
  let failed = 0;

  const settle = () => {
    if (opened + failed === command.count) {
      send({
        type: "opened",
        opened,
        failed,
        firstStartUs,
        lastOpenUs,
        openTimes: openTimes.snapshot(),
        errors: errors.slice(),
      });
    } else if (started < command.count) {
      startOne();
    }
  };

  const startOne = () => {
    started += 1;
    const startUs = nowUs();
    const subscription: Subscription = {
      // onread: reads land in one shared buffer, no Buffer allocated per read (parsing is synchronous).
      socket: connect({
        host: command.host,
        port: command.port,
        onread: { buffer: READ_BUFFER, callback: (n, buffer) => onRead(n, buffer) },
      }),
      opened: false,
      received: 0,
      lastSeq: -1,
      seen: new Uint8Array(bitmapBytes(expected)),
    };
    subscriptions.push(subscription);
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      failed += 1;
      noteError(why);
      subscription.socket.destroy();
      settle();
    };
    const timer = setTimeout(() => fail(`no response headers within ${OPEN_TIMEOUT_MS} ms`), OPEN_TIMEOUT_MS);
    const parser = new SseStreamParser({
      onHead: (status) => {
        clearTimeout(timer);
        if (status !== 200) return fail(`subscribe answered HTTP ${status}`);
        settled = true;
        subscription.opened = true;
        opened += 1;
        lastOpenUs = nowUs();
        openTimes.record(lastOpenUs - startUs);
        settle();
      },
      onData: (value) => onEvent(subscription, value),
    });
    const socket = subscription.socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      socket.write(
        `GET ${command.path} HTTP/1.1\r\nHost: ${command.host}:${command.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
      );
    });
    const onRead = (length: number, buffer: Uint8Array): boolean => {
      receiveUs = nowUs();
      try {
        parser.push(Buffer.from(buffer.buffer, buffer.byteOffset, length));
      } catch (error) {
        noteError(`bad stream: ${(error as Error).message}`);
        socket.destroy();
      }
      return true;
    };
    socket.on("error", (error) => {
      if (!subscription.opened) fail(`connect: ${error.message}`);
      else noteError(`socket: ${error.message}`);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      if (!subscription.opened) return fail("closed before response headers");
      if (!closing) {
        dropped += 1;
        noteError("stream closed by the server");
      }
    });
  };

  for (let i = 0; i < Math.min(command.concurrency, command.count); i++) startOne();
  if (command.count === 0) settle();
}

function onEvent(subscription: Subscription, value: string): void {
  const event = decodePayload(value);
  if (event === null) return;
  if (event.step !== step) {
    stale += 1;
    return;
  }
  const byte = event.seq >> 3;
  const bit = 1 << (event.seq & 7);
  if (byte >= subscription.seen.length) {
    const grown = new Uint8Array(Math.max(byte + 1, subscription.seen.length * 2));
    grown.set(subscription.seen);
    subscription.seen = grown;
  }
  if (subscription.seen[byte]! & bit) {
    duplicates += 1;
    return;
  }
  subscription.seen[byte]! |= bit;
  if (event.seq < subscription.lastSeq) reordered += 1;
  else subscription.lastSeq = event.seq;
  subscription.received += 1;
  received += 1;
  if (subscription.received === expected) complete += 1;
  if (firstReceiveUs === 0) firstReceiveUs = receiveUs;
  lastReceiveUs = receiveUs;
  latency.record(receiveUs - event.sentUs);
}

function bitmapBytes(events: number): number {
  return Math.max(1, Math.ceil(events / 8));
}

function startStep(nextStep: number, nextExpected: number): void {
  step = nextStep;
  expected = nextExpected;
  received = complete = duplicates = reordered = stale = 0;
  firstReceiveUs = lastReceiveUs = 0;
  latency = new Histogram();
  errors.length = 0;
  for (const subscription of subscriptions) {
    subscription.received = 0;
    subscription.lastSeq = -1;
    subscription.seen = new Uint8Array(bitmapBytes(nextExpected));
  }
  cpuAtStep = process.cpuUsage();
}

process.on("message", (command: WorkerCommand) => {
  switch (command.type) {
    case "open":
      openAll(command);
      break;
    case "step":
      startStep(command.step, command.expected);
      break;
    case "progress":
      send({ type: "progress", received, complete, dropped });
      break;
    case "report": {
      const cpu = process.cpuUsage(cpuAtStep);
      send({
        type: "report",
        step,
        received,
        complete,
        dropped,
        duplicates,
        reordered,
        stale,
        latency: latency.snapshot(),
        firstReceiveUs,
        lastReceiveUs,
        cpuUs: cpu.user + cpu.system,
        errors: errors.slice(),
      });
      break;
    }
    case "close":
      closing = true;
      for (const subscription of subscriptions) subscription.socket.destroy();
      // Exit once the reply is out; the coordinator waits for the exit.
      process.send?.({ type: "closed" } satisfies WorkerMessage, () => process.exit(0));
      break;
  }
});

// The coordinator died or let go: never linger holding sockets.
process.on("disconnect", () => process.exit(0));
