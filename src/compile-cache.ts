import * as nodeModule from 'node:module';

/**
 * Imported first by the entry points: from Node 22.1, V8 keeps the compiled code
 * of every module loaded after this in a cache on disk (in the OS temporary folder),
 * so later starts of the server and the CLI skip most of the ~1 s spent compiling.
 * Node 20 has no such cache, and starts as before.
 */
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
