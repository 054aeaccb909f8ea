import { getMetadataStorage, ValidationArguments, ValidationTypes } from 'class-validator';

/** Whether an instance of the DTO passes its validators: true, false, or undefined when it cannot tell synchronously. */
export type ValidityCheck = (object: object) => boolean | undefined;

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

interface PropertyCheck {
  property: string;
  conditions: ((object: object, value: unknown) => boolean)[];
  constraints: {
    validateIf?: (object: object, value: unknown) => boolean;
    validate: (value: unknown, args: ValidationArguments) => unknown;
    constraints: unknown[];
  }[];
}

/** The properties the DTO's validators name: the whitelist (any other property of an input is an error). */
export function validatedProperties(dto: new () => object): string[] {
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false);
  return [...new Set(metadatas.map((metadata) => metadata.propertyName))];
}

/**
 * The validity of a DTO as validateSync decides it with the global pipe's
 * options (whitelist, forbidNonWhitelisted, strictGroups, no groups), compiled
 * once from the same class-validator metadata: for each property its conditions
 * (ValidateIf, IsOptional), then its validators' own `validate` functions,
 * called with the arguments the executor passes. It says only valid or not
 * (a caller gets the errors from the pipe itself), at a fraction of
 * validateSync's cost, which goes to looking the metadata up again on every
 * call and building error objects (the bulk import checks a million lines).
 *
 * Returns null, and the caller uses the pipe, for a DTO that needs what this
 * does not run: validation groups, `always`, `each`, nested or promise
 * validation, @Allow, or an async validator.
 */
export function compileValidityCheck(dto: new () => object): ValidityCheck | null {
  // Every metadata of the DTO, those in groups included (strictGroups off, no groups asked), so that a
  // DTO with request rules (a second, grouped pass of the pipe) is refused rather than half checked.
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false);
  if (metadatas.length === 0) return null;
  const unsupported = (metadata: ValidationMetadata) =>
    (metadata.groups?.length ?? 0) > 0 ||
    metadata.always !== undefined ||
    metadata.each ||
    ![ValidationTypes.CUSTOM_VALIDATION, ValidationTypes.CONDITIONAL_VALIDATION, ValidationTypes.IS_DEFINED].includes(
      metadata.type,
    );
  if (metadatas.some(unsupported)) return null;

  const checks = new Map<string, PropertyCheck>();
  for (const metadata of metadatas) {
    let check = checks.get(metadata.propertyName);
    if (!check) {
      check = { property: metadata.propertyName, conditions: [], constraints: [] };
      checks.set(metadata.propertyName, check);
    }
    if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
      check.conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
      continue;
    }
    for (const constraint of getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls)) {
      if (constraint.async) return null;
      const instance = constraint.instance;
      check.constraints.push({
        validateIf: (metadata as { validateIf?: (object: object, value: unknown) => boolean }).validateIf,
        validate: instance.validate.bind(instance),
        constraints: metadata.constraints,
      });
    }
  }
  const properties = [...checks.values()];
  const targetName = dto.name;

  return (object) => {
    const record = object as Record<string, unknown>;
    // whitelist + forbidNonWhitelisted: a property without metadata is an error.
    for (const key of Object.keys(record)) if (!checks.has(key)) return false;
    for (const { property, conditions, constraints } of properties) {
      const value = record[property];
      if (!conditions.every((condition) => condition(object, value))) continue;
      for (const constraint of constraints) {
        if (constraint.validateIf && !constraint.validateIf(object, value)) continue;
        const valid = constraint.validate(value, {
          targetName,
          property,
          object,
          value,
          constraints: constraint.constraints,
        });
        if (valid instanceof Promise) return undefined;
        if (!valid) return false;
      }
    }
    return true;
  };
}
