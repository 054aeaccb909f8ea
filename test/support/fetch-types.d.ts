// The generated client (test/generated/api-client) names the DOM's `BodyInit`,
// which this project's libs (ES2024 + @types/node, no DOM) do not declare as a
// global. Node's fetch accepts the same bodies.
type BodyInit = NonNullable<ConstructorParameters<typeof Response>[0]>;
