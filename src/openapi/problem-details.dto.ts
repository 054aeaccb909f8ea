import { ApiExtraModels, ApiProperty, ApiSchema, getSchemaPath } from '@nestjs/swagger';
import { MAX_LISTED_PROBLEMS } from '../common/errors/problem';

/** A non-field error, also the shape of each message of a field error. */
@ApiSchema({ name: 'ProblemMessage', description: 'A non-field error (`code` + `message`).' })
export class ProblemMessageDto {
  @ApiProperty({ description: 'Machine-readable code', example: 'not_found' })
  code!: string;

  @ApiProperty({ description: 'Human-readable message', example: 'User 7 does not exist' })
  message!: string;
}

@ApiSchema({
  name: 'ProblemFieldError',
  description: 'The errors of one request field (SelfCommunity clients turn `ext_id` into `extIdError`).',
})
@ApiExtraModels(ProblemMessageDto)
export class ProblemFieldErrorDto {
  @ApiProperty({ description: 'The request field, as the client sent it', example: 'ext_id' })
  field!: string;

  @ApiProperty({ type: [ProblemMessageDto], minItems: 1, maxItems: 1 })
  messages!: ProblemMessageDto[];
}

/** The error body of every route: RFC 9457 problem details plus SelfCommunity's `errors` array. */
@ApiSchema({
  name: 'ProblemDetails',
  description:
    'Every error is `application/problem+json` (RFC 9457) with the `errors` array SelfCommunity clients read.',
})
@ApiExtraModels(ProblemMessageDto, ProblemFieldErrorDto)
export class ProblemDetailsDto {
  @ApiProperty({ description: 'Problem type URI', example: 'about:blank' })
  type!: string;

  @ApiProperty({ description: 'The HTTP reason phrase of the status', example: 'Bad Request' })
  title!: string;

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 400, maximum: 599, example: 400 })
  status!: number;

  @ApiProperty({ description: 'What went wrong', example: 'ext_id must be a string of 1 to 255 characters' })
  detail!: string;

  @ApiProperty({ description: 'The request path', example: '/api/v2/user/7/provider/' })
  instance!: string;

  @ApiProperty({
    description: 'At least one item: a field error (`field` + `messages`) or a non-field error (`code` + `message`).',
    type: 'array',
    minItems: 1,
    maxItems: MAX_LISTED_PROBLEMS,
    items: { oneOf: [{ $ref: getSchemaPath(ProblemFieldErrorDto) }, { $ref: getSchemaPath(ProblemMessageDto) }] },
  })
  errors!: (ProblemFieldErrorDto | ProblemMessageDto)[];

  @ApiProperty({ description: 'Also in the X-Request-Id header and in the log line', example: 'req-1' })
  request_id!: string;
}
