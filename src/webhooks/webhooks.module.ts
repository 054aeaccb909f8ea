import { Module } from '@nestjs/common';
import { DeliveryRepository } from './delivery/delivery.repository';
import { WebhookDeliveryService } from './delivery/webhook-delivery.service';
import { WebhooksController } from './webhooks.controller';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/** Signed webhooks of identity changes: the admin API, and the delivery loop every instance runs. */
@Module({
  controllers: [WebhooksController],
  providers: [WebhooksRepository, WebhooksService, DeliveryRepository, WebhookDeliveryService],
})
export class WebhooksModule {}
