import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { FieldValidationError } from '../../common/errors/problem';
import { AppValidationPipe } from '../../common/validation/validation.pipe';
import { DeleteSocialAssociationDto } from './delete-social-association.dto';

/** What @DeleteTarget() hands the global pipe. */
const metadata: ArgumentMetadata = { type: 'custom', metatype: DeleteSocialAssociationDto, data: undefined };
const pipe = new AppValidationPipe();
const validate = (value: unknown) => pipe.transform(value, metadata) as Promise<DeleteSocialAssociationDto>;

async function fieldErrors(value: unknown): Promise<FieldValidationError['fieldErrors']> {
  const error: unknown = await validate(value).then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(FieldValidationError);
  return (error as FieldValidationError).fieldErrors;
}

describe('DeleteSocialAssociationDto (through AppValidationPipe)', () => {
  describe('accepted', () => {
    it('a string ext_id and a provider slug, as a DTO instance', async () => {
      const dto = await validate({ ext_id: 'abc-123', provider: 'google' });
      expect(dto).toBeInstanceOf(DeleteSocialAssociationDto);
      expect({ ...dto }).toEqual({ ext_id: 'abc-123', provider: 'google' });
    });

    it.each([
      [123, '123'],
      [0, '0'],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
    ])('ext_id %j (a JSON number) normalized to the decimal string %j', async (extId, expected) => {
      const dto = await validate({ ext_id: extId, provider: 'google' });
      expect(dto.ext_id).toBe(expected);
    });

    it.each([
      [7, 7],
      ['7', 7],
      ['2147483647', 2_147_483_647],
    ])('user_id %j normalized to the number %j', async (userId, expected) => {
      const dto = await validate({ ext_id: 'a', provider: 'google', user_id: userId });
      expect(dto.user_id).toBe(expected);
    });

    it.each([
      ['255 ASCII characters', 'x'.repeat(255)],
      ['255 emoji (510 UTF-16 code units)', '😀'.repeat(255)],
      ['CJK', '用户标识'],
      ['a single character', 'x'],
      ['spaces inside', 'a b'],
    ])('ext_id of %s', async (_name, extId) => {
      expect((await validate({ ext_id: extId, provider: 'keycloak' })).ext_id).toBe(extId);
    });

    it.each(['google', 'azure-ad', 'external', 'a', '0', 'x_y', 'p'.repeat(32)])('provider %j', async (provider) => {
      expect((await validate({ ext_id: '1', provider })).provider).toBe(provider);
    });
  });

  describe('rejected (FieldValidationError naming the field)', () => {
    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['256 characters', 'x'.repeat(256)],
      ['256 emoji', '😀'.repeat(256)],
      ['256 code points of which 128 are variation selectors', 'a\ufe0f'.repeat(128)],
      ['a NUL', 'a\u0000b'],
      ['a newline', 'a\nb'],
      ['DEL', '\u007f'],
      ['a lone high surrogate', '\ud800'],
      ['a lone low surrogate', 'x\udc00'],
      ['negative', -1],
      ['a float', 1.5],
      ['not a safe integer', 2 ** 53],
      ['true', true],
      ['null', null],
      ['an object', { id: 1 }],
      ['an array', ['1']],
    ])('ext_id %s', async (_name, extId) => {
      const errors = await fieldErrors({ ext_id: extId, provider: 'google' });
      expect(errors).toEqual([{ field: 'ext_id', code: 'invalid', message: expect.stringContaining('ext_id') }]);
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['uppercase', 'Google'],
      ['33 characters', 'p'.repeat(33)],
      ['starting with a dash', '-x'],
      ['with a space', 'a b'],
      ['with a dot', 'a.b'],
      ['a number', 1],
      ['null', null],
    ])('provider %s', async (_name, provider) => {
      const errors = await fieldErrors({ ext_id: '1', provider });
      expect(errors).toEqual([{ field: 'provider', code: 'invalid', message: expect.stringContaining('provider') }]);
    });

    it.each([['abc'], [0], [-1], [1.5], ['007'], ['1e3'], [2_147_483_648], ['2147483648'], [true], [null], [[7]]])(
      'user_id %j',
      async (userId) => {
        const errors = await fieldErrors({ ext_id: '1', provider: 'google', user_id: userId });
        expect(errors).toEqual([{ field: 'user_id', code: 'invalid', message: expect.stringContaining('user_id') }]);
      },
    );

    it('unknown fields, each as unknown_field', async () => {
      const errors = await fieldErrors({ ext_id: '1', provider: 'google', extra: 1, profile_url: 'https://x' });
      expect(errors).toEqual(
        expect.arrayContaining([
          { field: 'extra', code: 'unknown_field', message: expect.any(String) },
          { field: 'profile_url', code: 'unknown_field', message: expect.any(String) },
        ]),
      );
      expect(errors).toHaveLength(2);
    });

    it('names every invalid field at once', async () => {
      const errors = await fieldErrors({ ext_id: '', provider: 'X' });
      expect(errors.map((error) => error.field).sort()).toEqual(['ext_id', 'provider']);
    });
  });

  describe('not a JSON object (BadRequestException)', () => {
    it.each([
      ['null', null],
      ['an array', [{ ext_id: '1', provider: 'google' }]],
      ['a string', 'google'],
      ['a number', 1],
      ['undefined', undefined],
    ])('%s', async (_name, value) => {
      await expect(validate(value)).rejects.toBeInstanceOf(BadRequestException);
    });

    it('an object nested deeper than the limit', async () => {
      let deep: unknown = '1';
      for (let i = 0; i < 2000; i++) deep = { a: deep };
      await expect(validate({ ext_id: deep, provider: 'google' })).rejects.toBeInstanceOf(BadRequestException);
    });
  });
});
