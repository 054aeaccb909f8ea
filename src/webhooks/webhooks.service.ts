import { Injectable } from '@nestjs/common';
import { AUDIT_ACTIONS } from '../audit/audit-event.entity';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { resolveWebhookAddress, webhookUrlProblem, WebhookAddressError } from './delivery/network-policy';
import { newWebhookSecret } from './delivery/signature';
import { decodeDeliveryCursor, encodeDeliveryCursor } from './delivery-cursor';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { ListWebhookDeliveriesQueryDto } from './dto/list-webhook-deliveries.query.dto';
import {
  WebhookDeliveryPageDto,
  WebhookEndpointCreatedDto,
  WebhookEndpointDto,
  WebhookReplayQueuedDto,
} from './dto/webhook-endpoint.dto';
import { WebhookEndpointRow, WebhooksRepository } from './webhooks.repository';

/** Endpoints per deployment: each one multiplies the delivery work of every change. */
export const MAX_WEBHOOK_ENDPOINTS = 50;
/** Longest wait for the DNS answer that registration checks. */
const REGISTRATION_LOOKUP_TIMEOUT_MS = 3000;
const DEFAULT_DELIVERY_PAGE_SIZE = 50;

/** The subscriptions (admin API); the delivery itself is WebhookDeliveryService's. */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly endpoints: WebhooksRepository,
    private readonly config: AppConfig,
  ) {}

  async create(body: CreateWebhookDto): Promise<WebhookEndpointCreatedDto> {
    await this.checkUrl(body.url);
    if ((await this.endpoints.count()) >= MAX_WEBHOOK_ENDPOINTS) {
      throw new DomainError(
        'conflict',
        `At most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints may exist; delete one first`,
      );
    }
    const secret = newWebhookSecret();
    const row = await this.endpoints.insert({
      url: body.url,
      events: body.events ?? null,
      description: body.description ?? '',
      secret,
    });
    return { ...toEndpointDto(row), secret };
  }

  async list(): Promise<WebhookEndpointDto[]> {
    return (await this.endpoints.list()).map(toEndpointDto);
  }

  async get(id: number): Promise<WebhookEndpointDto> {
    return toEndpointDto(await this.found(id));
  }

  async delete(id: number): Promise<void> {
    if (!(await this.endpoints.delete(id))) throw notFound(id);
  }

  async deliveries(id: number, query: ListWebhookDeliveriesQueryDto): Promise<WebhookDeliveryPageDto> {
    await this.found(id);
    const limit = query.limit ?? DEFAULT_DELIVERY_PAGE_SIZE;
    const before = query.cursor === undefined ? undefined : decodeDeliveryCursor(query.cursor);
    // One more than asked: its presence says whether there is a next page.
    const rows = await this.endpoints.deliveries(id, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      results: page.map((row) => ({
        id: row.id,
        event_id: row.event_id,
        attempt: row.attempt,
        outcome: row.outcome,
        status_code: row.status_code,
        error: row.error,
        duration_ms: row.duration_ms,
        attempted_at: row.attempted_at.toISOString(),
      })),
      next: rows.length > limit && last ? encodeDeliveryCursor(last.id) : null,
    };
  }

  async replay(id: number, since: string): Promise<WebhookReplayQueuedDto> {
    if ((await this.endpoints.replay(id, since)) === null) throw notFound(id);
    return { endpoint_id: id, since, queued: true };
  }

  /** The URL's rules (scheme, and where its host resolves to), at registration; delivery checks them again each time. */
  private async checkUrl(url: string): Promise<void> {
    const policy = { allowPrivateNetworks: this.config.webhooks.allowPrivateNetworks };
    const problem = webhookUrlProblem(url, policy);
    if (problem) throw new DomainError('invalid_field', problem, 'url');
    // With the rules lifted there is no address to check (and a private name may resolve only where delivery runs).
    if (policy.allowPrivateNetworks) return;
    try {
      // An IPv6 literal's hostname comes in brackets: the lookup wants the address.
      const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
      await resolveWebhookAddress(host, policy, REGISTRATION_LOOKUP_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof WebhookAddressError) throw new DomainError('invalid_field', error.message, 'url');
      throw error;
    }
  }

  private async found(id: number): Promise<WebhookEndpointRow> {
    const row = await this.endpoints.find(id);
    if (!row) throw notFound(id);
    return row;
  }
}

function notFound(id: number): DomainError {
  return new DomainError('not_found', `No webhook endpoint ${id}`);
}

function toEndpointDto(row: WebhookEndpointRow): WebhookEndpointDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events ?? [...AUDIT_ACTIONS],
    description: row.description,
    created_at: row.created_at.toISOString(),
    disabled: row.disabled,
    disabled_reason: row.disabled_reason,
    disabled_at: row.disabled_at?.toISOString() ?? null,
  };
}
