"""The GraphQL schema: strawberry types, inputs and enums, one module per domain."""
