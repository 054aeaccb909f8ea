import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
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
const BUSY_POLL_MS = 200;
const IDLE_POLL_MS = 1000;
/** After a failed statement (the database away), the loop waits this long before the next try. */
const ERROR_PAUSE_MS = 2000;
/** A lease outlives the attempt's timeout by this much, so only a dead instance's lease runs out. */
const LEASE_MARGIN_MS = 5000;
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

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly config: AppConfig,
  ) {
    const { timeoutMs, allowPrivateNetworks } = config.webhooks;
    this.sender = new WebhookSender({ timeoutMs, maxResponseBytes: 16 * 1024, policy: { allowPrivateNetworks } });
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let nextDispatchAt = 0;
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
        pause = more ? 0 : Math.max(0, nextDispatchAt - Date.now());
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        this.logger.warn(`webhook delivery paused: ${(error as Error).message}`);
        pause = ERROR_PAUSE_MS;
        nextDispatchAt = 0;
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
    const claimed = await this.deliveries.claim(
      free,
      MAX_IN_FLIGHT_PER_ENDPOINT,
      busyEndpoints,
      this.config.webhooks.timeoutMs + LEASE_MARGIN_MS,
    );
    for (const stream of claimed) {
      const attempt: Promise<void> = this.attempt(stream)
        .catch((error: Error) => this.logger.warn(`webhook attempt not recorded: ${error.message}`))
        .finally(() => {
          this.inFlight.delete(attempt);
          // A slot is free, and the stream may have its next event: look again now.
          this.wake?.();
        });
      this.inFlight.set(attempt, stream.endpoint_id);
    }
  }

  private async attempt(stream: ClaimedStream): Promise<void> {
    if (stream.event_id === null) return this.deliveries.skip(stream);
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
    if (this.stopping.signal.aborted) return this.deliveries.release(stream);
    const record = {
      eventId: stream.event_id,
      attempt: stream.attempts + 1,
      statusCode: result.statusCode,
      durationMs: Math.round(result.durationMs),
    };
    if (result.ok) return this.deliveries.delivered(stream, record);

    const failingSince = stream.first_failed_at ?? attemptedAt;
    const { retryPeriodMs } = this.config.webhooks;
    if (attemptedAt.getTime() - failingSince.getTime() >= retryPeriodMs) {
      const reason =
        `Event ${stream.event_id} was given up after failing since ${failingSince.toISOString()} ` +
        `(${stream.attempts + 1} attempts); last error: ${result.error}`;
      this.logger.warn(`webhook endpoint ${stream.endpoint_id} disabled: ${reason}`);
      return this.deliveries.givenUp(stream, record, result.error, reason);
    }
    return this.deliveries.failed(
      stream,
      record,
      result.error,
      failingSince,
      retryDelayMs(stream.attempts + 1, retryPeriodMs),
    );
  }

  /** Waits `ms`, or less when an attempt finishes or the service stops. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping.signal.aborted) return Promise.resolve();
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
