"""Reading the audit trail, and proving it untouched."""

from dataclasses import dataclass, field

from django.conf import settings

from audit import anchor
from audit.models import AuditEntry, AuditHead
from audit.services import GENESIS_HASH, HASHED_FIELDS, entry_digest


@dataclass
class ChainProblem:
    seq: int | None
    kind: str  # "edited", "broken_link", "missing", "truncated", "rewritten", "anchor_missing", "anchor_unreadable"
    detail: str


@dataclass
class ChainReport:
    checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_chain_verify(
    *, stop_at_first: bool = True, chunk_size: int = 5000, anchor_files: list | None = None
) -> ChainReport:
    """Walk the chain in ``seq`` order: recompute each keyed hash, check each link and
    that no sequence number is missing, then hold the tail against the anchors kept outside
    the database (every configured anchor file plus ``anchor_files``) and against the
    database's own head row.

    The anchors and the head row are read before the walk: both only ever record committed
    entries, so entries committed meanwhile never look like a truncation.
    """
    anchors = anchor.anchor_read_all(extra=anchor_files)
    head_row = AuditHead.objects.filter(pk=1).values_list("seq", "hash").first() or (0, GENESIS_HASH)
    report = ChainReport()
    expected_seq = 1
    prev_hash = GENESIS_HASH
    rows = AuditEntry.objects.order_by("seq").values_list("hash", *HASHED_FIELDS)
    for row in rows.iterator(chunk_size=chunk_size):
        stored_hash, values = row[0], dict(zip(HASHED_FIELDS, row[1:], strict=True))
        seq = values["seq"]
        if seq != expected_seq:
            report.problems.append(
                ChainProblem(expected_seq, "missing", f"entries {expected_seq}..{seq - 1} are missing")
            )
        elif values["prev_hash"] != prev_hash:
            report.problems.append(ChainProblem(seq, "broken_link", "previous hash does not match the entry before"))
        if entry_digest(values) != stored_hash:
            report.problems.append(ChainProblem(seq, "edited", "content does not match its hash"))
        report.checked += 1
        if report.problems and stop_at_first:
            return report
        expected_seq = seq + 1
        prev_hash = stored_hash
        report.head_seq, report.head_hash = seq, stored_hash

    report.problems.extend(_head_row_problems(report, head_row))
    report.problems.extend(_anchor_problems(report, anchors, head_row_seq=head_row[0]))
    if stop_at_first:
        del report.problems[1:]
    return report


def _head_row_problems(report: ChainReport, head_row: tuple[int, str]) -> list[ChainProblem]:
    seq, digest = head_row
    if seq > report.head_seq:
        return [
            ChainProblem(
                report.head_seq + 1,
                "truncated",
                f"the database's head row records entry {seq} but the chain ends at {report.head_seq}",
            )
        ]
    if seq == report.head_seq and seq > 0 and digest != report.head_hash:
        return [ChainProblem(seq, "rewritten", "the database's head row has another hash than the last entry")]
    return []


def _anchor_problems(report: ChainReport, anchors: list[dict], *, head_row_seq: int) -> list[ChainProblem]:
    if not anchors:
        if report.checked or head_row_seq:
            return [
                ChainProblem(
                    None,
                    "anchor_missing",
                    f"no anchor file ({', '.join(map(str, anchor.anchor_paths())) or settings.AUDIT_ANCHOR_FILE}) "
                    "although the chain has entries: the head recorded outside the database is gone",
                )
            ]
        return []
    problems = []
    for head in sorted(anchors, key=lambda a: -a["seq"]):
        where = head.get("path", "")
        if head.get("unreadable"):
            problems.append(ChainProblem(None, "anchor_unreadable", f"the anchor file {where} cannot be read"))
        elif head["seq"] > report.head_seq:
            problems.append(
                ChainProblem(
                    report.head_seq + 1,
                    "truncated",
                    f"the anchor {where} records entry {head['seq']} but the chain ends at {report.head_seq}",
                )
            )
        elif head["seq"] == report.head_seq and head["hash"] != report.head_hash:
            problems.append(
                ChainProblem(head["seq"], "rewritten", f"the chain head does not match the hash of the anchor {where}")
            )
        elif (
            0 < head["seq"] < report.head_seq
            and not AuditEntry.objects.filter(seq=head["seq"], hash=head["hash"]).exists()
        ):
            problems.append(
                ChainProblem(head["seq"], "rewritten", f"the entry the anchor {where} records has a different hash")
            )
    return problems


def audit_entries_for(target) -> "list[AuditEntry]":
    return list(
        AuditEntry.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk)).order_by("seq")
    )
