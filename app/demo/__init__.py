"""Demo data seeders, used by `consulta seed-demo` only."""
