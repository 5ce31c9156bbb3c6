"""`python -m nnexam`: the same as the `nnexam` command."""

from .cli import main

main()
