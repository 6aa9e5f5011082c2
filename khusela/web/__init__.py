"""The command-centre console and resident pages, served by the API as static files."""
