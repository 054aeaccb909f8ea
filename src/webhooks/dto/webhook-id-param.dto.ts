import { ApiProperty } from '@nestjs/swagger';
import { IsId } from '../../common/validation/decorators';
import { ID_SCHEMA } from '../../common/validation/ids';

/** `{id}` of a webhook endpoint in a path: a positive int32, else 400. */
export class WebhookIdParamDto {
  @ApiProperty({ ...ID_SCHEMA, example: 1, description: 'The webhook endpoint id' })
  @IsId('id')
  id!: number;
}
