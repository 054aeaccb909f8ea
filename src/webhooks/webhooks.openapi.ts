import { applyDecorators } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { ApiProblemResponses } from '../openapi/api-responses';
import {
  WebhookDeliveryPageDto,
  WebhookEndpointCreatedDto,
  WebhookEndpointDto,
  WebhookReplayQueuedDto,
} from './dto/webhook-endpoint.dto';

/** The OpenAPI description of each route of WebhooksController; access is the controller's (admins). */

const AUTH = {
  401: 'No token, or a token that fails any check',
  403: 'The caller is not an admin',
} as const;

const DELIVERY = [
  'Each event is POSTed as JSON `{ type, timestamp, data: { user_id, provider, ext_id, actor_user_id, request_id } }`',
  'and signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers).',
  'At least once; per endpoint and user, in commit order; retried with backoff for the retry period.',
].join(' ');

/** POST /api/v2/webhooks/ */
export const ApiCreateWebhook = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Subscribe an endpoint to identity-change events',
      description: [
        'Auth: admin. The endpoint receives the events of changes that start after this call.',
        DELIVERY,
        'The URL must be https and its host must not resolve to a loopback, private, link-local or metadata address',
        '(checked now and at every delivery). The answer carries the signing secret, shown only here.',
      ].join('\n'),
    }),
    ApiCreatedResponse({ type: WebhookEndpointCreatedDto, description: 'The subscription, with its secret' }),
    ApiProblemResponses({
      400: 'A malformed body, an unknown event type, or a URL that breaks the network rules',
      ...AUTH,
      409: 'The most endpoints a deployment may have (50) exist already',
    }),
  );

/** GET /api/v2/webhooks/ */
export const ApiListWebhooks = () =>
  applyDecorators(
    ApiOperation({ summary: 'List the webhook endpoints', description: 'Auth: admin. Oldest first; no secrets.' }),
    ApiOkResponse({ type: [WebhookEndpointDto], description: 'Every endpoint' }),
    ApiProblemResponses({ 400: 'An unknown query parameter', ...AUTH }),
  );

/** GET /api/v2/webhooks/{id}/ */
export const ApiGetWebhook = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Read one webhook endpoint',
      description: 'Auth: admin. No secret; `disabled_reason` says why an endpoint was disabled.',
    }),
    ApiOkResponse({ type: WebhookEndpointDto, description: 'The endpoint' }),
    ApiProblemResponses({ 400: 'A malformed id', ...AUTH, 404: 'No such endpoint' }),
  );

/** DELETE /api/v2/webhooks/{id}/ */
export const ApiDeleteWebhook = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Delete a webhook endpoint',
      description: 'Auth: admin. Its pending events and its delivery log go with it.',
    }),
    ApiNoContentResponse({ description: 'Deleted' }),
    ApiProblemResponses({ 400: 'A malformed id', ...AUTH, 404: 'No such endpoint' }),
  );

/** GET /api/v2/webhooks/{id}/deliveries/ */
export const ApiListWebhookDeliveries = () =>
  applyDecorators(
    ApiOperation({
      summary: "List an endpoint's delivery attempts",
      description: 'Auth: admin. Newest first, a page at a time: the event, the status code or error, and when.',
    }),
    ApiOkResponse({ type: WebhookDeliveryPageDto, description: 'A page of attempts' }),
    ApiProblemResponses({
      400: 'A malformed id, `limit` or `cursor`, or an unknown query parameter',
      ...AUTH,
      404: 'No such endpoint',
    }),
  );

/** POST /api/v2/webhooks/{id}/replay/ */
export const ApiReplayWebhook = () =>
  applyDecorators(
    ApiOperation({
      summary: 'Send the events since an instant again',
      description: [
        "Auth: admin. Queues every event at or after `since` (of the endpoint's types) to be sent again, in order per user,",
        'with the same `webhook-id` as before; the work is done in the background. Enables the endpoint if it was disabled.',
      ].join('\n'),
    }),
    ApiAcceptedResponse({ type: WebhookReplayQueuedDto, description: 'Queued' }),
    ApiProblemResponses({ 400: 'A malformed id or `since`', ...AUTH, 404: 'No such endpoint' }),
  );
