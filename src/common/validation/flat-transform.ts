import { ClassTransformOptions, Transform, TransformationType, TransformFnParams } from 'class-transformer';
import { defaultOptions } from 'class-transformer/cjs/constants/default-options.constant';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';

/** A DTO instance from a flat input, or undefined when the input is not flat (then use plainToInstance). */
export type FlatTransform<T> = (input: Record<string, unknown>) => T | undefined;

/** Tells whether the storage read here is the one the decorators wrote to (one copy of class-transformer loaded). */
class StorageProbe {
  @Transform(({ value }: { value: unknown }) => value)
  probe?: unknown;
}

/**
 * plainToInstance(dto, input, options) for an input whose values are all
 * null, booleans, numbers or strings, and whose keys are all the DTO's
 * `properties`: a new instance, each value through the property's @Transform
 * functions (the same metadata, called with the same arguments), as
 * class-transformer does for such values. Several times cheaper, because
 * class-transformer looks every key's metadata up again on every call (a
 * tenth of a bulk import's time per line). Any other input answers undefined.
 *
 * Returns null, and the caller uses plainToInstance, for a DTO this does not
 * reproduce: @Type, @Expose or @Exclude, accessors, transform options that
 * filter metadata (version, groups) or convert (implicit conversion), or a
 * second copy of class-transformer whose storage these decorators did not use.
 */
export function compileFlatTransform<T extends object>(
  dto: new () => T,
  properties: readonly string[],
  options: ClassTransformOptions = {},
): FlatTransform<T> | null {
  const storage = defaultMetadataStorage;
  const toClass = TransformationType.PLAIN_TO_CLASS;
  const merged: ClassTransformOptions = { ...defaultOptions, ...options };
  if (storage.findTransformMetadatas(StorageProbe, 'probe', toClass).length !== 1) return null;
  if (merged.enableImplicitConversion || merged.version !== undefined || merged.groups?.length) return null;
  if (merged.excludeExtraneousValues || merged.strategy || merged.excludePrefixes?.length || merged.targetMaps)
    return null;
  if (storage.getStrategy(dto) !== 'none' || storage.getExposedMetadatas(dto).length > 0) return null;
  if (storage.getExcludedMetadatas(dto).length > 0) return null;

  const transforms = new Map<string, ((params: TransformFnParams) => unknown)[]>();
  for (const property of properties) {
    if (property === '__proto__' || property === 'constructor') return null;
    if (storage.findTypeMetadata(dto, property)) return null;
    if (Object.getOwnPropertyDescriptor(dto.prototype, property)) return null;
    transforms.set(
      property,
      storage.findTransformMetadatas(dto, property, toClass).map((metadata) => metadata.transformFn),
    );
  }

  return (input) => {
    const entity = new dto() as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      const keyTransforms = transforms.get(key);
      let value = input[key];
      if (!keyTransforms || (value !== null && typeof value === 'object') || typeof value === 'function')
        return undefined;
      for (const transform of keyTransforms)
        value = transform({ value, key, obj: input, type: toClass, options: merged });
      entity[key] = value;
    }
    return entity as T;
  };
}
