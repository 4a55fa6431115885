"""The contenders the bench runs as child processes (each is `python -m bench.contenders.<name>`).

Each prints one JSON object on stdout when it is done; the parent measures wall time, CPU and RSS
from outside, the same way for every contender.
"""
