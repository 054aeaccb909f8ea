import { IsId } from './decorators';

/** `{id}` in a path: a positive int32, else 400. */
export class IdParamDto {
  @IsId('id')
  id!: number;
}
