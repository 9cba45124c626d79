"""Aggregations over the documents that match a query (AWS IoT developer guide,
"Querying for aggregate data"): statistics, cardinality, percentiles and terms buckets.

An aggregation field must be a managed or custom field of the index
(InvalidAggregationException otherwise); its declared type decides which values count:
Number fields take numbers (and registry attribute strings that read as numbers),
Boolean fields take booleans (as 0/1 for statistics), String fields every value as text.
The mock computes exactly what AWS approximates (cardinality, percentiles).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from iotmock.core.errors import ServiceError
from iotmock.indexing.documents import Fields, IndexView
from iotmock.indexing.query import Scalar, number_of, text_of

DEFAULT_PERCENTS = (1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0)
STATISTICS = (
    "count",
    "average",
    "sum",
    "minimum",
    "maximum",
    "sumOfSquares",
    "variance",
    "stdDeviation",
)


def invalid_aggregation(message: str) -> ServiceError:
    return ServiceError("InvalidAggregationException", message)


def aggregation_type(view: IndexView, field: str | None, *, allowed: Sequence[str]) -> str:
    """The declared type of an aggregation field, checked against `allowed` types."""
    if not field:
        raise invalid_aggregation("An aggregationField is required for this aggregation.")
    declared = view.field_type(field)
    if declared is None:
        raise invalid_aggregation(
            f"{field} is not an aggregatable field of index {view.index}: aggregate a managed "
            "field or add it as a custom field (UpdateIndexingConfiguration customFields)."
        )
    if declared not in allowed:
        raise invalid_aggregation(
            f"{field} is a {declared} field; this aggregation needs a field of type "
            + " or ".join(allowed)
            + "."
        )
    return declared


def _typed(value: Scalar, declared: str) -> Scalar | None:
    """A document value as the declared type sees it (None when it does not fit)."""
    if declared == "Number":
        return number_of(value)
    if declared == "Boolean":
        if isinstance(value, bool):
            return value
        text = text_of(value).casefold()
        return text == "true" if text in ("true", "false") else None
    return text_of(value)


def values_of(documents: Iterable[Fields], field: str, declared: str) -> list[list[Scalar]]:
    """Per matching document, its values of `field` that fit the declared type."""
    found: list[list[Scalar]] = []
    for fields in documents:
        typed = [_typed(v, declared) for v in fields.get(field, ())]
        found.append([v for v in typed if v is not None])
    return found


def statistics(per_document: list[list[Scalar]], declared: str) -> dict[str, Any]:
    """The Statistics shape: String fields give only the count of documents with a value;
    Number and Boolean (0/1) fields every statistic (none but count and sums when no
    value is found)."""
    if declared == "String":
        return {"count": sum(1 for values in per_document if values)}
    numbers = [float(v) for values in per_document for v in values]
    count = len(numbers)
    total = math.fsum(numbers)
    squares = math.fsum(n * n for n in numbers)
    result: dict[str, Any] = {"count": count, "sum": total, "sumOfSquares": squares}
    if count:
        average = total / count
        variance = max(squares / count - average * average, 0.0)
        result.update(
            average=average,
            minimum=min(numbers),
            maximum=max(numbers),
            variance=variance,
            stdDeviation=math.sqrt(variance),
        )
    return result


def percentiles(
    per_document: list[list[Scalar]], percents: Sequence[float]
) -> list[dict[str, Any]]:
    """PercentPairs by linear interpolation between the closest ranks; no pairs when no
    document has a value."""
    numbers = sorted(float(v) for values in per_document for v in values)
    if not numbers:
        return []
    pairs = []
    for percent in percents:
        rank = percent / 100 * (len(numbers) - 1)
        below = math.floor(rank)
        above = min(below + 1, len(numbers) - 1)
        value = numbers[below] + (numbers[above] - numbers[below]) * (rank - below)
        pairs.append({"percent": percent, "value": value})
    return pairs


def cardinality(per_document: list[list[Scalar]]) -> int:
    """The number of distinct values (0 when nothing matches)."""
    return len({text_of(v) for values in per_document for v in values})


def _bucket_key(value: Scalar) -> str:
    """A bucket's keyValue: whole numbers without a fraction (40, not 40.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text_of(value)


def buckets(per_document: list[list[Scalar]], max_buckets: int) -> list[dict[str, Any]]:
    """Terms buckets: each distinct value with the number of documents having it, most
    frequent first (ties in value order)."""
    counts: Counter[str] = Counter()
    for values in per_document:
        counts.update({_bucket_key(v) for v in values})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{"keyValue": key, "count": count} for key, count in ranked[:max_buckets]]
