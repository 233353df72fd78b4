# SPDX-License-Identifier: MIT
"""check() for the test drivers of the examples: one line per condition,
"ok: " or "FAIL: " and what it checked; status() is the exit status, 1
once any check failed."""
_failures = [0]


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        _failures[0] += 1


def status():
    return 1 if _failures[0] else 0
