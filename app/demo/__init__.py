"""Demo data seeders, used only by the CLI (`consulta seed-demo`, `make run`).

They build on the services (never the other way round): `seed.seed_demo` is the entry
point and calls the others.
"""
