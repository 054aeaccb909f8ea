import { ApiProperty } from '@nestjs/swagger';
import { IsId } from './decorators';
import { ID_SCHEMA } from './ids';

/** `{id}` in a path: a positive int32, else 400. */
export class IdParamDto {
  @ApiProperty({
    ...ID_SCHEMA,
    example: 7,
    description: 'The user id: a positive integer that fits a signed 32-bit column',
  })
  @IsId('id')
  id!: number;
}
