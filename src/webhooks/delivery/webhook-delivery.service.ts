import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventLoopUtilization, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestsReceived } from '../../common/http/request-count';
import { AppConfig } from '../../config/app-config';
import { ClaimedStream, DeliveryRepository } from './delivery.repository';
import { retryDelayMs } from './retry-schedule';
import { signedHeaders } from './signature';
import { WebhookSender } from './webhook-sender';

/** Deliveries one instance has in flight at once: bounds its sockets and its share of the database. */
const MAX_IN_FLIGHT = 16;
/** Of those, at most this many to one endpoint: a receiver that hangs cannot take every slot. */
const MAX_IN_FLIGHT_PER_ENDPOINT = 4;
/** How often the loop looks for new events while an endpoint exists, and for an endpoint while there is none. */
const BUSY_POLL_MS = 100;
const IDLE_POLL_MS = 1000;
/** After a failed statement (the database away), the loop waits this long before the next try. */
const ERROR_PAUSE_MS = 2000;
const LEASE_MARGIN_MS = 5000;
/** Events one claim sends in a row from one stream (one user, one endpoint) before it goes back in the queue. */
const MAX_EVENTS_PER_CLAIM = 100;
/**
 * Delivery gives way to requests: while this process's event loop was busier than
 * BUSY_LOOP_SHARE over the last sample and it received at least BUSY_REQUESTS requests
 * meanwhile, it sends at most one event per BUSY_PACE_MS (an event costs about a
 * millisecond of the loop: a few percent of it), and catches up once the load drops.
 * The request count keeps delivery's own work (a backlog, no requests) from slowing it.
 */
const BUSY_LOOP_SHARE = 0.7;
const LOAD_SAMPLE_MS = 250;
const BUSY_REQUESTS = 50;
const BUSY_PACE_MS = 20;
/** How often the delivery log is pruned (DELIVERY_LOG_DAYS), by whichever instance gets there. */
const PRUNE_EVERY_MS = 60_000;
/** On shutdown, the longest wait for in-flight attempts to be recorded (they are aborted first). */
const SHUTDOWN_WAIT_MS = 3000;

/**
 * Sends the events of audit_events to the subscribed endpoints, in every instance:
 * dispatch (find the new events), claim due streams, send each one's next event,
 * record the outcome. The instances share the work through the database (see
 * delivery.repository.ts); the write path never waits for any of it.
 */
@Injectable()
export class WebhookDeliveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('WebhookDelivery');
  private readonly sender: WebhookSender;
  private readonly inFlight = new Map<Promise<void>, number>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** An attempt finished while the loop was busy: its next sleep is skipped, so the free slot is claimed at once. */
  private wakeMissed = false;
  private loadSample: EventLoopUtilization = performance.eventLoopUtilization();
  private loadTimer: NodeJS.Timeout | undefined;
  /** The event loop was busy with other work (requests) over the last sample. */
  private loaded = false;
  /** While loaded: when the next attempt may start. */
  private nextPacedAt = 0;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly config: AppConfig,
    private readonly http: HttpAdapterHost,
  ) {
    const { timeoutMs, allowPrivateNetworks } = config.webhooks;
    this.sender = new WebhookSender({ timeoutMs, maxResponseBytes: 16 * 1024, policy: { allowPrivateNetworks } });
  }

  /** A claim outlives one attempt's timeout by a margin, so only a dead instance's claim runs out. */
  private get leaseMs(): number {
    return this.config.webhooks.timeoutMs + LEASE_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    let requestsBefore = requestsReceived(this.http.httpAdapter);
    this.loadTimer = setInterval(() => {
      const sample = performance.eventLoopUtilization();
      const requests = requestsReceived(this.http.httpAdapter);
      this.loaded =
        performance.eventLoopUtilization(sample, this.loadSample).utilization > BUSY_LOOP_SHARE &&
        requests - requestsBefore >= BUSY_REQUESTS;
      this.loadSample = sample;
      requestsBefore = requests;
    }, LOAD_SAMPLE_MS).unref();
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.loadTimer);
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let nextDispatchAt = 0;
    let nextPruneAt = 0;
    let subscribed = false;
    while (!this.stopping.signal.aborted) {
      let pause: number;
      try {
        // A wake-up from a finished attempt claims again at once; new events are looked for at the poll's pace.
        let more = false;
        if (Date.now() >= nextDispatchAt) {
          ({ subscribed, more } = await this.deliveries.dispatch());
          nextDispatchAt = Date.now() + (subscribed ? BUSY_POLL_MS : IDLE_POLL_MS);
        }
        if (subscribed) await this.claimAndSend();
        if (Date.now() >= nextPruneAt) {
          nextPruneAt = Date.now() + PRUNE_EVERY_MS;
          await this.deliveries.pruneDeliveries();
        }
        pause = more ? 0 : Math.max(0, nextDispatchAt - Date.now());
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        this.logger.warn(`webhook delivery paused: ${(error as Error).message}`);
        pause = ERROR_PAUSE_MS;
        nextDispatchAt = 0;
        this.wakeMissed = false;
      }
      await this.sleep(pause);
    }
    await this.drain();
  }

  /** Claims what the free slots allow and starts those attempts. */
  private async claimAndSend(): Promise<void> {
    const free = MAX_IN_FLIGHT - this.inFlight.size;
    if (free <= 0) return;
    const perEndpoint = new Map<number, number>();
    for (const endpointId of this.inFlight.values())
      perEndpoint.set(endpointId, (perEndpoint.get(endpointId) ?? 0) + 1);
    const busyEndpoints = [...perEndpoint].filter(([, n]) => n >= MAX_IN_FLIGHT_PER_ENDPOINT).map(([id]) => id);
    const claimed = await this.deliveries.claim(free, MAX_IN_FLIGHT_PER_ENDPOINT, busyEndpoints, this.leaseMs);
    for (const stream of claimed) {
      const attempt: Promise<void> = this.work(stream)
        .catch((error: Error) => this.logger.warn(`webhook attempt not recorded: ${error.message}`))
        .finally(() => {
          this.inFlight.delete(attempt);
          // A slot is free: claim again now.
          if (this.wake) this.wake();
          else this.wakeMissed = true;
        });
      this.inFlight.set(attempt, stream.endpoint_id);
    }
  }

  /**
   * Sends the claimed stream's events one after the other while they are delivered, up to
   * MAX_EVENTS_PER_CLAIM (then the stream goes back to the queue, behind the others).
   */
  private async work(claimed: ClaimedStream): Promise<void> {
    let stream: ClaimedStream | null = claimed;
    for (let turn = 0; stream && turn < MAX_EVENTS_PER_CLAIM; turn++) {
      if (stream.event_id === null) return this.deliveries.skip(stream);
      await this.giveWay();
      stream = await this.attempt(stream);
    }
    if (stream) await this.deliveries.release(stream);
  }

  /** While the process is loaded, waits for the next paced turn (one attempt of this instance per BUSY_PACE_MS). */
  private async giveWay(): Promise<void> {
    while (this.loaded && !this.stopping.signal.aborted) {
      const wait = this.nextPacedAt - Date.now();
      if (wait <= 0) break;
      await sleep(wait, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    this.nextPacedAt = Date.now() + BUSY_PACE_MS;
  }

  /** One attempt at the stream's next event; the stream, still leased, when it was delivered. */
  private async attempt(stream: ClaimedStream): Promise<ClaimedStream | null> {
    const body = JSON.stringify({
      type: stream.action,
      timestamp: stream.occurred_at!.toISOString(),
      data: {
        user_id: stream.user_id,
        provider: stream.provider,
        ext_id: stream.ext_id,
        actor_user_id: stream.actor_user_id,
        request_id: stream.request_id,
      },
    });
    const attemptedAt = new Date();
    const headers = signedHeaders(stream.secret, String(stream.event_id), body, attemptedAt);
    const result = await this.sender.send({ url: stream.url, headers, body }, this.stopping.signal);
    if (this.stopping.signal.aborted) {
      await this.deliveries.release(stream);
      return null;
    }
    const record = {
      eventId: stream.event_id!,
      attempt: stream.attempts + 1,
      statusCode: result.statusCode,
      durationMs: Math.round(result.durationMs),
    };
    if (result.ok) {
      const next = await this.deliveries.delivered(stream, record, this.leaseMs);
      if (next && this.stopping.signal.aborted) {
        await this.deliveries.release(next);
        return null;
      }
      return next;
    }

    const failingSince = stream.first_failed_at ?? attemptedAt;
    const { retryPeriodMs } = this.config.webhooks;
    if (attemptedAt.getTime() - failingSince.getTime() >= retryPeriodMs) {
      const reason =
        `Event ${stream.event_id} was given up after failing since ${failingSince.toISOString()} ` +
        `(${stream.attempts + 1} attempts); last error: ${result.error}`;
      this.logger.warn(`webhook endpoint ${stream.endpoint_id} disabled: ${reason}`);
      await this.deliveries.givenUp(stream, record, result.error, reason);
      return null;
    }
    await this.deliveries.failed(
      stream,
      record,
      result.error,
      failingSince,
      retryDelayMs(stream.attempts + 1, retryPeriodMs),
    );
    return null;
  }

  /** Waits `ms`, or less when an attempt finishes or the service stops. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping.signal.aborted || this.wakeMissed) {
      this.wakeMissed = false;
      return Promise.resolve();
    }
    return new Promise((done) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = null;
        done();
      };
      const timer = setTimeout(finish, ms);
      this.wake = finish;
    });
  }

  /** The attempts in flight were aborted by `stopping`; each gives its stream back, within a bound. */
  private async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((done) => (timer = setTimeout(done, SHUTDOWN_WAIT_MS)));
    await Promise.race([Promise.allSettled([...this.inFlight.keys()]), bound]);
    clearTimeout(timer);
  }
}
