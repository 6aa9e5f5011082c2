"""Locality risk: incident import, hotspots, forecasts of where crime will concentrate next,
and honest rolling-origin backtests of those forecasts (hit rate and PAI).

The analytical core is pure numpy/scipy with no database; the register, tables and API sit
beside it."""
