import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { FieldValidationError } from '../../common/errors/problem';

const QUERY_FIELDS = ['ext_id', 'provider'] as const;

/**
 * The DELETE target: the JSON body, completed by `ext_id`/`provider` query
 * parameters. When both give a field and they differ, that is a 400 (the body
 * would win, but a client sending two different targets has a bug worth seeing).
 * The result is validated by the global pipe as a DeleteSocialAssociationDto.
 */
export const DeleteTarget = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Record<string, unknown> => {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const body: unknown = request.body;
    if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body))) {
      throw new BadRequestException('The request body must be a JSON object');
    }
    const query = (request.query ?? {}) as Record<string, unknown>;
    const unknownParameters = Object.keys(query).filter((key) => !(QUERY_FIELDS as readonly string[]).includes(key));
    if (unknownParameters.length > 0) {
      throw new FieldValidationError(
        unknownParameters.map((field) => ({
          field,
          code: 'unknown_field',
          message: `${field} is not an accepted query parameter`,
        })),
      );
    }

    const target: Record<string, unknown> = { ...(body as Record<string, unknown> | undefined) };
    for (const field of QUERY_FIELDS) {
      const fromQuery = query[field];
      const fromBody = target[field];
      if (fromQuery === undefined) continue;
      if (fromBody === undefined) {
        target[field] = fromQuery;
      } else if ((typeof fromBody === 'string' || typeof fromBody === 'number') && String(fromBody) !== fromQuery) {
        throw FieldValidationError.of(field, `${field} in the body and in the query string differ`, 'conflict');
      }
    }
    return target;
  },
);
