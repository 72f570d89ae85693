"""The GraphQL API on Starlette: schema, resolvers, auth."""
