"""`python -m pancake_pos` runs the command line."""

from pancake_pos.cli import main

main()
