/**
 * Open-loop publisher: event k is sent at start + k / rate whether or not
 * earlier publishes have been answered, so a slow server shows up as
 * latency instead of silently lowering the rate (no coordinated omission).
 * Each event's data carries its send time; requests go over a small pool
 * of keep-alive connections.
 */
import { Agent, request } from "node:http";
import { Histogram, type LatencySummary } from "../lib/histogram.ts";
import { encodePayload, nowUs } from "./payload.ts";

export interface PublishTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** How an event is sent; default: its data as the text/plain body of one POST. */
  readonly encoding?: PublishEncoding;
}

/**
 * A publish format other than the relay's own (e.g. a Mercure hub's form
 * fields). `bodies` returns every request one bench event costs: the first
 * carries the event's data to the subscribers; any others are updates no
 * subscriber selects (sent at the same instant, answered like the first).
 */
export interface PublishEncoding {
  readonly contentType: string;
  bodies(data: string): string[];
}

const PLAIN: PublishEncoding = { contentType: "text/plain", bodies: (data) => [data] };

export interface PublishPlan {
  readonly step: number;
  readonly events: number;
  readonly ratePerSecond: number;
  readonly payloadBytes: number;
  /** Keep-alive connections used at once; further publishes queue for one. */
  readonly connections: number;
}

export interface PublishResult {
  readonly sent: number;
  readonly accepted: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly firstSendUs: number;
  readonly lastSendUs: number;
  /** How far the send loop fell behind its schedule at worst (the publisher's own limit), ms. */
  readonly maxScheduleLagMs: number;
  /** Request → response time of the publishes. */
  readonly response: LatencySummary;
  readonly errors: string[];
}

export async function publishAtRate(target: PublishTarget, plan: PublishPlan): Promise<PublishResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.connections });
  const intervalUs = 1e6 / plan.ratePerSecond;
  const response = new Histogram();
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  let accepted = 0;
  let failed = 0;
  let answered = 0;
  let sent = 0;
  let maxLagUs = 0;
  const encoding = target.encoding ?? PLAIN;
  let expectedAnswers = plan.events;
  const startUs = nowUs();
  let lastSendUs = startUs;

  await new Promise<void>((resolve) => {
    // `counts`: the request that carries the event (accepted counts events, not the extra updates).
    const settle = (status: string, ok: boolean, sentUs: number, counts: boolean) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!ok) failed += 1;
      else if (counts) accepted += 1;
      response.record(nowUs() - sentUs);
      answered += 1;
      if (answered === expectedAnswers) resolve();
    };
    const sendOne = (seq: number) => {
      const sentUs = nowUs();
      lastSendUs = sentUs;
      const bodies = encoding.bodies(encodePayload(plan.step, seq, sentUs, plan.payloadBytes));
      expectedAnswers += bodies.length - 1;
      for (const [index, body] of bodies.entries()) sendBody(body, sentUs, index === 0);
    };
    const sendBody = (body: string, sentUs: number, counts: boolean) => {
      const req = request(
        {
          agent,
          host: target.host,
          port: target.port,
          method: "POST",
          path: target.path,
          headers: {
            ...target.headers,
            "Content-Type": encoding.contentType,
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            settle(String(res.statusCode), (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, sentUs, counts),
          );
        },
      );
      req.on("error", (error) => {
        if (errors.length < 10) errors.push(error.message);
        settle("error", false, sentUs, counts);
      });
      req.end(body);
    };
    const tick = () => {
      const now = nowUs();
      while (sent < plan.events && startUs + sent * intervalUs <= now) {
        maxLagUs = Math.max(maxLagUs, now - (startUs + sent * intervalUs));
        sendOne(sent++);
      }
      if (sent < plan.events) setTimeout(tick, Math.max(0, (startUs + sent * intervalUs - nowUs()) / 1000 - 0.5));
    };
    if (plan.events === 0) resolve();
    else tick();
  });
  agent.destroy();
  return {
    sent,
    accepted,
    failed,
    statuses,
    firstSendUs: startUs,
    lastSendUs,
    maxScheduleLagMs: Math.round(maxLagUs) / 1000,
    response: response.summary(),
    errors,
  };
}
