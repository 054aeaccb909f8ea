import { Expose, plainToInstance, Type } from 'class-transformer';
import { IsString, ValidateNested } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileValidityCheck, validatedProperties } from '../../common/validation/compiled-validity-check';
import { compileFlatTransform } from '../../common/validation/flat-transform';
import { IsId } from '../../common/validation/decorators';
import { CreateSocialAssociationDto } from '../dto/create-social-association.dto';
import { FullPathPipe, outcome } from '../../../test/support/validation-paths';
import { validateCreateLine } from './line-validation';

const fullPath = new FullPathPipe();
const viaFullPath = (input: Record<string, unknown>) =>
  fullPath.transform(input, { type: 'body', metatype: CreateSocialAssociationDto }) as Promise<object>;

// Values near each field's rules, on both sides of them, and of every JSON type.
const anyJson = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 1.5, 2147483647, 2147483648, Number.MAX_SAFE_INTEGER, '', ' ', '1'),
  fc.string(),
  fc.integer(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 2 }),
);
const fieldValues = {
  user_id: fc.oneof(fc.integer({ min: -2, max: 2147483649 }), fc.constantFrom('7', '007', '+7', '7.0', ' 7'), anyJson),
  provider: fc.oneof(
    fc.constantFrom('google', 'github', 'external', 'azure-ad', 'Google', '-x', 'a'.repeat(32), 'a'.repeat(33)),
    fc.stringMatching(/^[a-z0-9_-]{0,34}$/),
    anyJson,
  ),
  ext_id: fc.oneof(
    fc.constantFrom('g-1', ' g', 'g ', 'a\u202e', 'a\u200b', 'a\u0000', '\ud800', 'x'.repeat(255), 'x'.repeat(256)),
    fc.constantFrom('😀'.repeat(255), '😀'.repeat(256)),
    fc.nat(),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    anyJson,
  ),
  profile_url: fc.oneof(
    fc.constantFrom(
      'https://example.org/u/1',
      'http://localhost:8080/x',
      'https://a_b.example/x',
      'ftp://example.org/',
      'example.org/u',
      'https://exa mple.org',
      'https://example.org:99999/',
      'https://-bad.example/',
      'javascript:alert(1)',
      `https://example.org/${'x'.repeat(2040)}`,
    ),
    fc.webUrl(),
    anyJson,
  ),
  metadata: fc.oneof(fc.constant(null), fc.object({ maxDepth: 2 }), anyJson),
  show_in_profile: fc.oneof(fc.boolean(), anyJson),
  unknown: anyJson,
};
const line = fc.record(fieldValues, { requiredKeys: [] });
const wellFormedLine = fc.record({
  user_id: fc.integer({ min: 1, max: 2147483647 }),
  provider: fc.constantFrom('google', 'github', 'external'),
  ext_id: fc.oneof(fc.nat(), fc.stringMatching(/^[a-z0-9-]{1,20}$/)),
  profile_url: fc.option(fc.webUrl()),
  show_in_profile: fc.boolean(),
});

describe('the import validates a line as the API validates a create body', () => {
  it('compiles a check for the create request (else the import would use the pipe for every line)', () => {
    expect(compileValidityCheck(CreateSocialAssociationDto)).toBeTypeOf('function');
  });

  it('gives the entity or the error that class-transformer and class-validator give, for any line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(line, wellFormedLine), async (fields) => {
        const input = fields as Record<string, unknown>;
        expect(await outcome(() => validateCreateLine({ ...input }))).toEqual(
          await outcome(() => viaFullPath({ ...input })),
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts what the pipe accepts: well-formed lines take the compiled path and are valid', async () => {
    const isValid = compileValidityCheck(CreateSocialAssociationDto)!;
    const entity = await viaFullPath({
      user_id: '7',
      provider: 'google',
      ext_id: 42,
      profile_url: 'https://example.org/u/42',
    });
    expect(isValid(entity)).toBe(true);
    expect(isValid(Object.assign(entity, { ext_id: ' 42' }))).toBe(false);
    expect(isValid(Object.assign(entity, { ext_id: '42', extra: 1 }))).toBe(false);
  });
});

describe('compileValidityCheck', () => {
  it('refuses what it does not run exactly: groups, nested validation', () => {
    class Grouped {
      @IsString({ groups: ['second'] })
      name!: string;
    }
    class Nested {
      @ValidateNested()
      child!: object;
    }
    class Plain {
      @IsId('id')
      id!: number;
    }
    expect(compileValidityCheck(Grouped)).toBeNull();
    expect(compileValidityCheck(Nested)).toBeNull();
    expect(compileValidityCheck(Plain)).toBeTypeOf('function');
  });
});

describe('compileFlatTransform', () => {
  const properties = validatedProperties(CreateSocialAssociationDto);

  it('gives what plainToInstance gives for a flat line, and nothing for another', () => {
    const flat = compileFlatTransform(CreateSocialAssociationDto, properties)!;
    expect(flat).toBeTypeOf('function');
    fc.assert(
      fc.property(fc.oneof(line, wellFormedLine), (fields) => {
        const input = fields as Record<string, unknown>;
        const entity = flat({ ...input });
        const isFlat = Object.entries(input).every(
          ([key, value]) => properties.includes(key) && (value === null || typeof value !== 'object'),
        );
        if (!isFlat) {
          expect(entity).toBeUndefined();
        } else {
          const reference = plainToInstance(CreateSocialAssociationDto, { ...input });
          expect(entity).toBeInstanceOf(CreateSocialAssociationDto);
          expect({ ...entity }).toStrictEqual({ ...reference });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses a DTO it does not reproduce: @Type, @Expose', () => {
    class Typed {
      @Type(() => Number)
      n!: number;
    }
    class Exposed {
      @Expose({ name: 'other' })
      n!: number;
    }
    expect(compileFlatTransform(Typed, ['n'])).toBeNull();
    expect(compileFlatTransform(Exposed, ['n'])).toBeNull();
    expect(compileFlatTransform(CreateSocialAssociationDto, properties, { enableImplicitConversion: true })).toBeNull();
  });
});
