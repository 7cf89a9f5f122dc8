"""Reading call records: good rows, malformed rows, and figures worked out by hand."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from omniline.acd.records import parse_lines
from omniline.cli import main

HEADER = (
    "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\t"
    "q_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver"
)


def row(
    cid: int,
    day: str,
    entry: str,
    q_start: str,
    q_time: int,
    outcome: str,
    ser_start: str = "0:00:00",
    ser_time: int = 0,
    server: str = "NO_SERVER",
    priority: int = 1,
    kind: str = "PS",
) -> str:
    return "\t".join(
        [
            "AA0101",
            str(cid),
            "123",
            str(priority),
            kind,
            day,
            entry,
            entry,
            "5",
            q_start,
            "0:00:00",
            str(q_time),
            outcome,
            ser_start,
            "0:00:00",
            str(ser_time),
            server,
        ]
    )


def test_good_rows_are_read_with_0_00_00_as_missing() -> None:
    parsed = parse_lines(
        [
            HEADER + "\r\n",
            row(7, "991001", "8:49:06", "8:49:12", 8, "AGENT", "8:49:19", 449, "BASCH", priority=2)
            + "\r\n",
        ]
    )
    [r] = parsed.records
    assert (r.call_id, r.priority, r.date, r.line) == ("7", 2, date(1999, 10, 1), 2)
    assert (r.q_start, r.q_time, r.ser_start, r.ser_time) == (31752, 8, 31759, 449)
    assert r.server == "BASCH"
    assert (
        parse_lines([HEADER, row(8, "991001", "1:00:00", "0:00:00", 0, "HANG")]).records[0].q_start
        is None
    )


def test_malformed_rows_are_counted_with_line_numbers_and_skipped() -> None:
    shifted = row(9, "991026", "14:07:50", "0:00:00", 0, "HANG").replace("\t1\tPS", "\t1     PS")
    lines = [
        HEADER,
        row(1, "991001", "8:00:00", "8:00:05", 3, "HANG"),
        shifted,  # priority and type run together: 16 fields
        row(2, "991001", "8:00:00", "8:0:05", 3, "HANG"),  # bad time
        row(3, "991001", "8:00:00", "8:00:05", 3, "LOST"),  # unknown outcome
        row(4, "99100", "8:00:00", "8:00:05", 3, "HANG"),  # bad date
        row(5, "991001", "8:00:00", "8:00:05", 3, "HANG").replace("\t3\tHANG", "\tx\tHANG"),
        row(6, "991001", "8:00:00", "8:00:05", 3, "HANG"),
    ]
    parsed = parse_lines(lines)
    assert [r.call_id for r in parsed.records] == ["1", "6"]
    assert [m.line for m in parsed.malformed] == [3, 4, 5, 6, 7]
    assert "16 fields" in parsed.malformed[0].reason
    assert parsed.rows == 7


# Ten calls and one broken row; the figures below are worked out by hand.
HAND_MADE = [
    HEADER,
    row(1, "991001", "8:00:00", "0:00:00", 0, "AGENT", "8:00:01", 60, "A"),  # menu -> agent: 0 s
    row(2, "991001", "8:10:00", "8:10:05", 10, "AGENT", "8:10:15", 60, "A"),  # 10 s
    row(3, "991001", "8:20:00", "8:20:05", 30, "AGENT", "8:20:35", 60, "B"),  # 30 s
    row(4, "991001", "8:30:00", "0:00:00", 0, "HANG"),  # hung up in the menu: not offered
    row(5, "991001", "8:40:00", "8:40:05", 9, "PHANTOM"),  # ghost: not offered
    row(6, "991001", "8:50:00", "8:50:05", 3, "HANG"),  # short abandon
    row(7, "991001", "9:00:00", "9:00:05", 40, "HANG"),  # abandon
    row(8, "991001", "9:10:00", "9:10:05", 20, "AGENT", "9:10:25", 60, "B"),  # 20 s: in time
    row(9, "991001", "23:59:50", "0:00:05", 15, "AGENT", "0:00:20", 60, "A"),  # queued on the 2nd
    row(10, "991002", "9:00:00", "9:00:05", 60, "HANG"),  # abandon
    "AA0101\t11\t0\t0 PS\t991002\t9:00:00",  # broken
]


def test_cli_json_figures_of_a_hand_made_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "calls.txt"
    path.write_bytes("\r\n".join(HAND_MADE).encode() + b"\r\n")
    with pytest.raises(SystemExit) as done:
        main(["voice", "replay", str(path), "--json"])
    assert done.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["malformed"] == 1
    recorded = report["recorded"]
    days = recorded.pop("days")
    assert recorded == {
        "offered": 8,  # calls 1, 2, 3, 6, 7, 8, 9, 10
        "answered": 5,
        "abandoned": 3,
        "short_abandoned": 1,
        "service_level": 0.5714,  # 4 within 20 s (0, 10, 20, 15) / (5 + 3 - 1)
        "asa_s": 15.0,  # (0 + 10 + 30 + 20 + 15) / 5
        "abandon_rate": 0.2857,  # (3 - 1) / (8 - 1)
    }
    assert days["1999-10-01"] == {
        "offered": 6,
        "answered": 4,
        "abandoned": 2,
        "short_abandoned": 1,
        "service_level": 0.6,  # 3 / (4 + 2 - 1)
        "asa_s": 15.0,
        "abandon_rate": 0.2,  # 1 / 5
    }
    assert days["1999-10-02"] == {
        "offered": 2,  # call 9 crossed midnight before entering the queue
        "answered": 1,
        "abandoned": 1,
        "short_abandoned": 0,
        "service_level": 0.5,
        "asa_s": 15.0,
        "abandon_rate": 0.5,
    }
    assert report["simulated"]["offered"] == 8


def test_cli_table_shows_both_columns_and_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "calls.txt"
    path.write_text("\n".join(HAND_MADE[:4]))
    with pytest.raises(SystemExit):
        main(["voice", "replay", str(path), "--threshold", "5"])
    out = capsys.readouterr()
    assert "read 3 rows, 0 malformed" in out.err
    total = next(line for line in out.out.splitlines() if line.strip().startswith("total"))
    # Recorded: waits 0, 10, 30 -> 1 of 3 within 5 s; simulated: an agent is free for each.
    assert "33.3% / 100.0%" in total
