"""Part 6: webhook verifications per second next to the standardwebhooks reference library.

The measuring is `benchmarks/bench_signing.py`'s (`run()`); this part puts its numbers in the
table. Goal: `verify_signature` at least as fast as the reference's `verify(json_parse=False)`.
"""

from __future__ import annotations

from ._common import Context, PartResult

__all__ = ["TITLE", "measure"]

TITLE = "6. Webhook verification (per second)"

OURS = "pancake_pos verify_signature"
REFERENCE = "standardwebhooks verify(json_parse=False)"
OURS_TYPED = "pancake_pos verify (typed payload)"
REFERENCE_DICT = "standardwebhooks verify (dict)"


def measure(context: Context) -> PartResult:
    """Run part 6; see the module's docstring."""
    from . import bench_signing

    part = PartResult(TITLE)
    settings = context.settings
    results = bench_signing.run(number=settings.signing_number, repeat=settings.repeats)
    body_bytes = results.pop("body_bytes", None)
    pairs = {OURS: REFERENCE, REFERENCE: REFERENCE, OURS_TYPED: REFERENCE_DICT}
    pairs[REFERENCE_DICT] = REFERENCE_DICT
    for name, per_second in results.items():
        reference = results.get(pairs.get(name, ""))
        part.add(name, per_second, "/s", ratio=per_second / reference if reference else None)
    ours, theirs = results.get(OURS), results.get(REFERENCE)
    part.ratio_goal(
        "verify_signature / standardwebhooks",
        ours / theirs if ours and theirs else None,
        1.0,
        at_most=False,
        key="verify",
        detail="above 1 is faster",
    )
    typed, plain = results.get(OURS_TYPED), results.get(REFERENCE_DICT)
    if typed and plain:
        part.notes.append(
            f"With parsing: verify (typed WebhookEventPayload) is {typed / plain:.2f}x the "
            "reference's verify (a plain dict); not a goal, the typed payload does more."
        )
    if body_bytes:
        part.notes.append(
            f"Measured by benchmarks/bench_signing.py; body of {body_bytes:.0f} bytes."
        )
    return part
