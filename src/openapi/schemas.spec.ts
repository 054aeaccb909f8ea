import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateInput } from '../common/validation/validate-input';
import { CreateSocialAssociationDto } from '../social-associations/dto/create-social-association.dto';
import { DeleteSocialAssociationDto } from '../social-associations/dto/delete-social-association.dto';
import { EXT_ID_PATTERN, NEW_EXT_ID_PATTERN, PROFILE_URL_PATTERN } from './schemas';

/** The document's rule for a string: pattern (unicode flag, as JSON Schema 2020-12) and length in code points. */
const documented = (pattern: string, value: string) => {
  const length = [...value].length;
  return new RegExp(pattern, 'u').test(value) && length >= 1 && length <= 255;
};
const accepts = (promise: Promise<unknown>) =>
  promise.then(
    () => true,
    () => false,
  );

/** Strings made of the characters the rules are about, and ordinary ones. */
const tricky = fc.constantFrom(
  'a',
  'Z',
  '7',
  ' ',
  '-',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\t',
  '\n',
  '\u0000',
  '\u007f',
  '\u0085',
  '\u009f',
  '\u00ad',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\u{e0001}',
  '\u{1f600}',
  '\ud800',
  '\udc00',
  'é',
  '用',
);
const texts = fc.oneof(
  fc.array(tricky, { maxLength: 8 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary' }),
);

describe('the document states the validators rules exactly', { timeout: 30_000 }, () => {
  it('ext_id of a new link: NEW_EXT_ID_PATTERN accepts what IsNewExtId accepts', async () => {
    await fc.assert(
      fc.asyncProperty(texts, async (extId) => {
        const valid = await accepts(validateInput(CreateSocialAssociationDto, { ext_id: extId, provider: 'google' }));
        expect(documented(NEW_EXT_ID_PATTERN, extId), JSON.stringify(extId)).toBe(valid);
      }),
      { numRuns: 500 },
    );
  });

  it('ext_id naming a link: EXT_ID_PATTERN accepts what IsExtId accepts', async () => {
    await fc.assert(
      fc.asyncProperty(texts, async (extId) => {
        const valid = await accepts(validateInput(DeleteSocialAssociationDto, { ext_id: extId, provider: 'google' }));
        expect(documented(EXT_ID_PATTERN, extId), JSON.stringify(extId)).toBe(valid);
      }),
      { numRuns: 500 },
    );
  });

  it('profile_url: every URL the validator accepts matches PROFILE_URL_PATTERN (which states the scheme rule)', async () => {
    const urls = fc.oneof(
      fc.webUrl({ validSchemes: ['http', 'https', 'ftp'] }),
      texts.map((text) => `https://${text}`),
      fc.constantFrom('HTTPS://example.com', 'javascript:alert(1)', 'mailto:x@y.z', 'https://a b', '//example.com'),
    );
    await fc.assert(
      fc.asyncProperty(urls, async (url) => {
        const valid = await accepts(
          validateInput(CreateSocialAssociationDto, { ext_id: '1', provider: 'google', profile_url: url }),
        );
        if (valid) expect(new RegExp(PROFILE_URL_PATTERN, 'u').test(url), url).toBe(true);
        if (!/^https?:\/\//i.test(url)) expect(valid, url).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
