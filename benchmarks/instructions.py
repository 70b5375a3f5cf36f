"""Section 2 counted in instructions, not seconds: what streaming adds to the work.

    python benchmarks/instructions.py            # csv, xml and json; about 7 minutes
    python benchmarks/instructions.py --format csv --rows 5000

Writes ``results/instructions.json``.

Wall-clock ratios on a shared 2-CPU machine move with whatever else runs on it (see the
README). ``valgrind --tool=callgrind`` counts the instructions a process executes, the
same for the same work whatever the machine is doing. Each side of section 2 (the
Session's pull from the sandbox, and its decoder on the same bytes in memory, in the
chunks a client received) runs in a fresh process under callgrind at two report sizes;
the difference between the two counts is the work of the extra records alone, free of
start-up (imports, the throwaway request). The ratio of those per-record counts is how
much of a streamed pull's work is the decoding that the in-memory side also does.

Instructions are not time: memory stalls count nothing, and system calls (the kernel's
side of each socket read) are not counted at all. The ratio says how much work in the
process the library and httpx add; a wider gap in seconds is time that instructions do
not show.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from run import FORMATS, REPLAY_MB, REPORT_ROWS, RESULTS, machine, received, run_worker, sandbox

#: Smaller of the two sizes per format (the larger is four times it): a LeadFlow or XML
#: record costs about four times a CSV row's work.
ROWS = {"csv": 5_000, "xml": 1_500, "json": 1_500}
_TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def instructions(spec: dict[str, Any], out: Path) -> int:
    """The instructions a worker process running ``spec`` executed, counted by callgrind."""
    run_worker(spec, "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
    match = _TOTAL.search(out.read_text(errors="replace"))
    if match is None:
        raise RuntimeError(f"no instruction total in {out}")
    return int(match.group(1))


def sides(url: str, fmt: str, rows: int, tmp: Path) -> dict[str, dict[str, Any]]:
    """The two sides' specs for a ``rows``-row report (the in-memory side gets the body in
    the chunks a client received)."""
    body, sizes, _ = received(url, fmt, rows, tmp)
    return {
        "memory": {
            "kind": "mem",
            "impl": "session_stack",
            "format": fmt,
            "body": str(body),
            "chunks": str(sizes),
        },
        "session": {"kind": "net", "impl": "ours", "format": fmt, "rows": rows, "base_url": url},
    }


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--format", choices=FORMATS, action="append", help="default: all")
    options.add_argument("--rows", type=int, help="the smaller size (default per format)")
    options.add_argument("--json", type=Path, default=RESULTS / "instructions.json")
    args = options.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    print(f"{'format':6} {'rows':>13} {'in memory/rec':>14} {'streamed/rec':>13} {'ratio':>6}")
    results: dict[str, Any] = {"machine": machine()}
    with (
        tempfile.TemporaryDirectory(prefix="dta-instr-") as tmp,
        sandbox("--rows", str(REPORT_ROWS), "--replay-mb", str(REPLAY_MB)) as url,
    ):
        for fmt in args.format or FORMATS:
            small = args.rows or ROWS[fmt]
            counts: dict[str, list[int]] = {"memory": [], "session": []}
            for rows in (small, 4 * small):
                for side, spec in sides(url, fmt, rows, Path(tmp)).items():
                    counts[side].append(instructions(spec, Path(tmp) / f"callgrind.{side}"))
            per_record = {side: (big - few) / (3 * small) for side, (few, big) in counts.items()}
            ratio = per_record["memory"] / per_record["session"]
            results[fmt] = {"rows": [small, 4 * small], "counts": counts, "per_record": per_record}
            results[fmt]["ratio"] = ratio
            print(
                f"{fmt:6} {small:>6,}/{4 * small:<6,} {per_record['memory']:14,.0f}"
                f" {per_record['session']:13,.0f} {ratio:6.3f}",
                flush=True,
            )
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
