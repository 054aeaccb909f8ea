// class-transformer keeps its decorators' metadata in one storage object, and its default options
// in one constant, that its package index does not export (see src/common/validation/flat-transform.ts).
declare module 'class-transformer/cjs/storage' {
  export { defaultMetadataStorage } from 'class-transformer/types/storage';
}
declare module 'class-transformer/cjs/constants/default-options.constant' {
  export { defaultOptions } from 'class-transformer/types/constants/default-options.constant';
}
