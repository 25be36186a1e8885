"""Reading the audit trail, and proving it untouched."""

from dataclasses import dataclass, field

from audit import anchor
from audit.models import AuditEntry
from audit.services import GENESIS_HASH, HASHED_FIELDS, entry_digest


@dataclass
class ChainProblem:
    seq: int | None
    kind: str  # "edited", "broken_link", "missing", "truncated", "rewritten", "anchor_unreadable"
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


def audit_chain_verify(*, stop_at_first: bool = True, chunk_size: int = 5000) -> ChainReport:
    """Walk the chain in ``seq`` order: recompute each keyed hash, check each link and
    that no sequence number is missing, then compare the tail with the anchor kept
    outside the database."""
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

    head = anchor.anchor_read()
    if head is None:
        return report
    if head.get("unreadable"):
        report.problems.append(ChainProblem(None, "anchor_unreadable", "the anchor file cannot be read"))
    elif head["seq"] > report.head_seq:
        report.problems.append(
            ChainProblem(
                report.head_seq + 1,
                "truncated",
                f"the anchor records entry {head['seq']} but the chain ends at {report.head_seq}",
            )
        )
    elif head["seq"] == report.head_seq and head["hash"] != report.head_hash:
        report.problems.append(
            ChainProblem(head["seq"], "rewritten", "the chain head does not match the anchor's hash")
        )
    elif head["seq"] < report.head_seq:
        ok = AuditEntry.objects.filter(seq=head["seq"], hash=head["hash"]).exists() or head["seq"] == 0
        if not ok:
            report.problems.append(
                ChainProblem(head["seq"], "rewritten", "the entry the anchor records has a different hash")
            )
    return report


def audit_entries_for(target) -> "list[AuditEntry]":
    return list(
        AuditEntry.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk)).order_by("seq")
    )
