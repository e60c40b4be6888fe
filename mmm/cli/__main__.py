"""`python -m mmm.cli ...`: the same as the `mmm` command."""

from mmm.cli import main

main()
