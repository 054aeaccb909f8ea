import { ArgumentMetadata } from '@nestjs/common';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CreateSocialAssociationDto } from '../../social-associations/dto/create-social-association.dto';
import { DeleteSocialAssociationDto } from '../../social-associations/dto/delete-social-association.dto';
import { ListSocialAssociationsQueryDto } from '../../social-associations/dto/list-social-associations.query.dto';
import { WebhookIdParamDto } from '../../webhooks/dto/webhook-id-param.dto';
import { validatedProperties } from './compiled-validity-check';
import { IdParamDto } from './id-param.dto';
import { FullPathPipe, outcome } from '../../../test/support/validation-paths';
import { AppValidationPipe } from './validation.pipe';

/** Exposes which DTOs take the compiled path. */
class InspectablePipe extends AppValidationPipe {
  compiles(dto: new () => object): boolean {
    return this.compiledPathOf(dto) !== null;
  }
}

const pipe = new InspectablePipe();
const fullPath = new FullPathPipe();

// Values on both sides of the rules of ids, slugs and ext_ids, of every JSON type and as query strings.
const value = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 1.5, 2147483647, 2147483648, '', ' ', '0', '1', '7', '007', '+7', '1e3'),
  fc.constantFrom('2147483647', '2147483648', 'google', 'Google', 'g-1', ' g', 'a\u0000', 'x'.repeat(256), 'true'),
  fc.string({ maxLength: 6 }),
  fc.integer(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 1 }),
);

const cases: { dto: new () => object; type: ArgumentMetadata['type'] }[] = [
  { dto: IdParamDto, type: 'param' },
  { dto: WebhookIdParamDto, type: 'param' },
  { dto: ListSocialAssociationsQueryDto, type: 'query' },
  { dto: CreateSocialAssociationDto, type: 'body' },
  { dto: DeleteSocialAssociationDto, type: 'custom' },
];

describe('AppValidationPipe: the compiled path', () => {
  it('is taken by the DTOs of the hot routes (path ids, the delete target, the create body)', () => {
    expect(pipe.compiles(IdParamDto)).toBe(true);
    expect(pipe.compiles(DeleteSocialAssociationDto)).toBe(true);
    expect(pipe.compiles(CreateSocialAssociationDto)).toBe(true);
  });

  for (const { dto, type } of cases) {
    it(`gives what class-transformer and class-validator give, for any ${type} input of ${dto.name}`, async () => {
      const fields = [...validatedProperties(dto), 'unknown'];
      const input = fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: fields.length });
      await fc.assert(
        fc.asyncProperty(input, async (raw) => {
          const metadata: ArgumentMetadata = { type, metatype: dto };
          expect(await outcome(() => pipe.transform({ ...raw }, metadata))).toEqual(
            await outcome(() => fullPath.transform({ ...raw }, metadata)),
          );
        }),
        { numRuns: 1500 },
      );
    });
  }
});
