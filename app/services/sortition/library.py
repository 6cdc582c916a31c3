"""What the API process needs to know about the sortition library without importing it
(it pulls in cvxpy and the solvers: seconds of start-up): its version, whether an
algorithm's solver is installed, the inputs' fingerprint. The library itself runs only in
the child process of `compute.py`."""

import hashlib
import importlib.util
import json
import math
from importlib.metadata import version
from typing import Any

LIBRARY = "sortition-algorithms"
INPUTS_FORMAT = 1


def library_version() -> str:
    return version(LIBRARY)


def algorithm_available(algorithm: str) -> bool:
    """leximin needs Gurobi (`gurobipy`); the others run on the free HiGHS solver."""
    return algorithm != "leximin" or importlib.util.find_spec("gurobipy") is not None


def inputs_hash(inputs: dict[str, Any]) -> str:
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def initial_rounds(applicants: int, number_to_select: int) -> int:
    """Rounds of the library's multiplicative-weights warm start (one ILP each). The
    library runs one per applicant: 2 000 rounds, ~45 minutes for 2 000 applicants on a
    loaded 2-core machine. A few committees per applicant's place are enough to seed the
    column generation, which then runs to the optimum as before (gap 0), and the library
    still covers every applicant with a committee of their own (bench/sortition.py)."""
    return min(applicants, max(100, math.ceil(2 * applicants / number_to_select)))
