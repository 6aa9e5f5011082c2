"""Bus adapters; `khusela.bus.factory.create_bus` picks one from settings."""
