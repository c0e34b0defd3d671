"""`python -m bench`: run the figures and write the report (see bench/run.py)."""

from bench.run import main

main()
