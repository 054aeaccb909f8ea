import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../auth/decorators';
import { OPENAPI_TAGS } from '../openapi/openapi';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { ListWebhookDeliveriesQueryDto } from './dto/list-webhook-deliveries.query.dto';
import { ReplayWebhookDto } from './dto/replay-webhook.dto';
import {
  WebhookDeliveryPageDto,
  WebhookEndpointCreatedDto,
  WebhookEndpointDto,
  WebhookReplayQueuedDto,
} from './dto/webhook-endpoint.dto';
import { WebhookIdParamDto } from './dto/webhook-id-param.dto';
import {
  ApiCreateWebhook,
  ApiDeleteWebhook,
  ApiGetWebhook,
  ApiListWebhookDeliveries,
  ApiListWebhooks,
  ApiReplayWebhook,
} from './webhooks.openapi';
import { WebhooksService } from './webhooks.service';

/** Subscriptions to identity-change events (admins). Documentation: webhooks.openapi.ts. */
@ApiTags(OPENAPI_TAGS.webhooks)
@Controller('api/v2/webhooks')
@AdminOnly()
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiCreateWebhook()
  createWebhook(@Body() body: CreateWebhookDto): Promise<WebhookEndpointCreatedDto> {
    return this.webhooks.create(body);
  }

  @Get()
  @ApiListWebhooks()
  listWebhooks(): Promise<WebhookEndpointDto[]> {
    return this.webhooks.list();
  }

  @Get(':id')
  @ApiGetWebhook()
  getWebhook(@Param() { id }: WebhookIdParamDto): Promise<WebhookEndpointDto> {
    return this.webhooks.get(id);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiDeleteWebhook()
  deleteWebhook(@Param() { id }: WebhookIdParamDto): Promise<void> {
    return this.webhooks.delete(id);
  }

  @Get(':id/deliveries')
  @ApiListWebhookDeliveries()
  listWebhookDeliveries(
    @Param() { id }: WebhookIdParamDto,
    @Query() query: ListWebhookDeliveriesQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.deliveries(id, query);
  }

  @Post(':id/replay')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiReplayWebhook()
  replayWebhook(@Param() { id }: WebhookIdParamDto, @Body() body: ReplayWebhookDto): Promise<WebhookReplayQueuedDto> {
    return this.webhooks.replay(id, body.since);
  }
}
