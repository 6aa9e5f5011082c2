"""`python -m khusela` runs the CLI."""

from khusela.cli import main

main()
