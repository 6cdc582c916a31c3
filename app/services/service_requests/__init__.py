"""Service requests (reports, complaints, suggestions), Open311 GeoReport v2."""
