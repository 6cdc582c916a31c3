"""Who may see and do what, as SQL: the access rules and scoped lookups every domain
builds on. Imports only `app.models` and the foundations (errors, pagination), never
another service package.
"""
