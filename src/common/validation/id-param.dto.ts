import { ApiProperty } from '@nestjs/swagger';
import { OPENAPI_USER_ID } from '../../openapi/schemas';
import { IsId } from './decorators';

/** `{id}` in a path: a positive int32, else 400. */
export class IdParamDto {
  @ApiProperty({ ...OPENAPI_USER_ID, description: 'The user id: a positive integer that fits a signed 32-bit column' })
  @IsId('id')
  id!: number;
}
