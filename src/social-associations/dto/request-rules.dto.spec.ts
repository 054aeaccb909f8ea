import { ArgumentMetadata } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { FieldValidationError } from '../../common/errors/problem';
import { AppValidationPipe } from '../../common/validation/validation.pipe';
import { CreateBodyUserSocialAssociationDto } from './create-body-user-social-association.dto';
import { ListSocialAssociationsQueryDto } from './list-social-associations.query.dto';

const pipe = new AppValidationPipe();

async function errorsOf(metadata: ArgumentMetadata, value: object): Promise<FieldValidationError['fieldErrors']> {
  const error: unknown = await pipe.transform(value, metadata).then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(FieldValidationError);
  return (error as FieldValidationError).fieldErrors;
}

describe('ListSocialAssociationsQueryDto: either user_id, or provider and ext_id', () => {
  const metadata: ArgumentMetadata = { type: 'query', metatype: ListSocialAssociationsQueryDto };
  const query = (value: Record<string, string>) => errorsOf(metadata, value);

  it.each([{}, { user_id: '7' }, { provider: 'google', ext_id: 'g' }])('accepts %j', async (value) => {
    await expect(pipe.transform(value, metadata)).resolves.toBeInstanceOf(ListSocialAssociationsQueryDto);
  });

  it.each([
    [{ user_id: '7', provider: 'google', ext_id: 'g' }, 'user_id', 'conflict', /^Give either user_id/],
    [{ user_id: '7', ext_id: 'g' }, 'user_id', 'conflict', /^Give either user_id/],
    [{ user_id: '7', provider: 'google' }, 'user_id', 'conflict', /^Give either user_id/],
    [{ ext_id: 'g' }, 'provider', 'required', /^provider is required with ext_id$/],
    [{ provider: 'google' }, 'ext_id', 'required', /^ext_id is required with provider$/],
  ])('%j: one error, field %s, code %s', async (value, field, code, message) => {
    expect(await query(value)).toEqual([{ field, code, message: expect.stringMatching(message) }]);
  });

  it('checks the rule only once every field is valid: an invalid field is the only error', async () => {
    expect(await query({ user_id: '7', provider: 'Google', ext_id: 'g' })).toEqual([
      { field: 'provider', code: 'invalid', message: expect.any(String) },
    ]);
    expect(await query({ user_id: 'abc', provider: 'google' })).toEqual([
      { field: 'user_id', code: 'invalid', message: expect.any(String) },
    ]);
    expect(await query({ ext_id: '', extra: '1' })).toEqual([
      { field: 'extra', code: 'unknown_field', message: expect.any(String) },
      { field: 'ext_id', code: 'invalid', message: expect.any(String) },
    ]);
  });
});

describe('CreateBodyUserSocialAssociationDto: user_id required', () => {
  const metadata: ArgumentMetadata = { type: 'body', metatype: CreateBodyUserSocialAssociationDto };

  it('accepts a body with user_id, as the DTO', async () => {
    const dto = (await pipe.transform({ user_id: '7', provider: 'google', ext_id: 42 }, metadata)) as object;
    expect(dto).toBeInstanceOf(CreateBodyUserSocialAssociationDto);
    expect({ ...dto }).toEqual({ user_id: 7, provider: 'google', ext_id: '42' });
  });

  it('400 field user_id, code required, without it', async () => {
    expect(await errorsOf(metadata, { provider: 'google', ext_id: 'g' })).toEqual([
      { field: 'user_id', code: 'required', message: 'user_id is required' },
    ]);
  });

  it('keeps the rules of the other fields: an invalid field is the only error', async () => {
    expect(await errorsOf(metadata, { provider: 'google', ext_id: '' })).toEqual([
      { field: 'ext_id', code: 'invalid', message: expect.any(String) },
    ]);
    expect(await errorsOf(metadata, { user_id: 0, provider: 'google', ext_id: 'g', extra: 1 })).toEqual(
      expect.arrayContaining([
        { field: 'user_id', code: 'invalid', message: expect.any(String) },
        { field: 'extra', code: 'unknown_field', message: expect.any(String) },
      ]),
    );
  });
});
