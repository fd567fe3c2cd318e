"""The sync facade's surface matches the async one, method for method.

For each pair (`AsyncPancakeClient` / `PancakeClient`, `AsyncWebhooks` / `Webhooks`): the same
public names; for each method the same parameters (names, kinds, defaults, annotations) and the
same return type, where the sync twin of a coroutine returns the plain value, the sync twin of an
async iterator of `X` (with `aclose`) is an iterator of `X` (with `close`), and the async classes
map to their sync twins. `__aenter__` / `__aexit__` pair with `__enter__` / `__exit__`.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any, get_args, get_origin, get_type_hints

import pytest

from pancake_pos._client import AsyncPancakeClient
from pancake_pos._pagination import (
    AsyncDeliveryIterator,
    AsyncDeliveryPageIterator,
    DeliveryIterator,
    DeliveryPageIterator,
)
from pancake_pos._sync import PancakeClient
from pancake_pos.resources.webhooks import AsyncWebhooks, Webhooks

TWINS: dict[Any, Any] = {
    AsyncPancakeClient: PancakeClient,
    AsyncWebhooks: Webhooks,
    AsyncDeliveryIterator: DeliveryIterator,
    AsyncDeliveryPageIterator: DeliveryPageIterator,
}
ASYNC_DUNDERS = {"__aenter__": "__enter__", "__aexit__": "__exit__"}
# Names some modules import for type checking only.
TYPE_CHECKING_NAMES = {"AsyncPancakeClient": AsyncPancakeClient, "PancakeClient": PancakeClient}


# -- the comparison -------------------------------------------------------------------------


def public_names(cls: type) -> set[str]:
    names = {name for name in dir(cls) if not name.startswith("_")}
    names |= {
        name for name in ("__init__", *ASYNC_DUNDERS, *ASYNC_DUNDERS.values()) if name in vars(cls)
    }
    return names


def iterated(annotation: Any, base: type) -> tuple[Any, ...] | None:
    """`(X,)` when `annotation` is `base[X]` or a class deriving from `base[X]`."""
    if get_origin(annotation) is base:
        return get_args(annotation)
    for parent in getattr(annotation, "__orig_bases__", ()):
        if get_origin(parent) is base:
            return get_args(parent)
    return None


def return_difference(async_return: Any, sync_return: Any) -> str | None:
    element = iterated(async_return, AsyncIterator)
    if element is not None:
        if iterated(sync_return, Iterator) != element:
            return f"returns {sync_return!r}, expected an Iterator{list(element)}"
        if hasattr(async_return, "aclose") and not hasattr(sync_return, "close"):
            return f"returns {sync_return!r}, which has no close() (the async one has aclose())"
        return None
    expected = TWINS.get(async_return, async_return)
    if sync_return != expected:
        return f"returns {sync_return!r}, expected {expected!r}"
    return None


def signature(function: Any) -> inspect.Signature:
    namespace = function.__globals__ | TYPE_CHECKING_NAMES
    return inspect.signature(function, eval_str=True, globals=namespace)


def method_differences(name: str, async_method: Any, sync_method: Any) -> list[str]:
    problems = []
    if inspect.iscoroutinefunction(sync_method):
        problems.append(f"{name}: the sync method is a coroutine function")
    async_signature = signature(async_method)
    sync_signature = signature(sync_method)
    async_parameters = list(async_signature.parameters.values())
    sync_parameters = list(sync_signature.parameters.values())
    if [p.name for p in async_parameters] != [p.name for p in sync_parameters]:
        problems.append(
            f"{name}: parameters {[p.name for p in sync_parameters]}, "
            f"expected {[p.name for p in async_parameters]}"
        )
    for expected, actual in zip(async_parameters, sync_parameters, strict=False):
        if expected.name != actual.name:
            continue
        if actual.kind != expected.kind:
            problems.append(f"{name}({actual.name}): kind {actual.kind}, expected {expected.kind}")
        if actual.default != expected.default:
            problems.append(
                f"{name}({actual.name}): default {actual.default!r}, expected {expected.default!r}"
            )
        expected_annotation = TWINS.get(expected.annotation, expected.annotation)
        if actual.annotation != expected_annotation:
            problems.append(
                f"{name}({actual.name}): annotation {actual.annotation!r}, "
                f"expected {expected_annotation!r}"
            )
    difference = return_difference(
        async_signature.return_annotation, sync_signature.return_annotation
    )
    if difference is not None:
        problems.append(f"{name}: {difference}")
    return problems


def attribute_type(attribute: Any) -> Any:
    getter = attribute.func if isinstance(attribute, cached_property) else attribute.fget
    return get_type_hints(getter, globalns=getter.__globals__ | TYPE_CHECKING_NAMES)["return"]


def surface_differences(async_cls: type, sync_cls: type) -> list[str]:
    """What differs between an async class and its sync twin (empty when they match)."""
    async_names = {ASYNC_DUNDERS.get(name, name) for name in public_names(async_cls)}
    sync_names = public_names(sync_cls)
    problems = [f"missing in the sync class: {name}" for name in sorted(async_names - sync_names)]
    problems += [f"only in the sync class: {name}" for name in sorted(sync_names - async_names)]
    reverse = {sync: async_ for async_, sync in ASYNC_DUNDERS.items()}
    for name in sorted(async_names & sync_names):
        async_attribute = inspect.getattr_static(async_cls, reverse.get(name, name))
        sync_attribute = inspect.getattr_static(sync_cls, name)
        if isinstance(async_attribute, property | cached_property):
            if type(sync_attribute) is not type(async_attribute):
                problems.append(f"{name}: a {type(sync_attribute).__name__}, expected a property")
                continue
            difference = return_difference(
                attribute_type(async_attribute), attribute_type(sync_attribute)
            )
            if difference is not None:
                problems.append(f"{name}: {difference}")
        elif callable(async_attribute):
            problems += method_differences(name, async_attribute, sync_attribute)
    return problems


# -- the surfaces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"),
    [(AsyncPancakeClient, PancakeClient), (AsyncWebhooks, Webhooks)],
    ids=["client", "webhooks"],
)
def test_the_sync_surface_matches_the_async_one(async_cls: type, sync_cls: type) -> None:
    if async_cls is AsyncWebhooks:
        # A resource is built by its client, not by users: its constructor may differ.
        problems = [p for p in surface_differences(async_cls, sync_cls) if "__init__" not in p]
    else:
        problems = surface_differences(async_cls, sync_cls)

    assert problems == []


def test_the_surfaces_compared_are_the_full_ones() -> None:
    client_names = public_names(PancakeClient)
    webhook_names = public_names(Webhooks)

    assert {"__init__", "with_options", "close", "__enter__", "__exit__", "webhooks"} <= (
        client_names
    )
    assert len(webhook_names - {"__init__"}) == 16  # the 16 operations of the API


def test_the_sync_walks_are_plain_iterators_with_close() -> None:
    for walk, element in [
        (DeliveryIterator, "WebhookDelivery"),
        (DeliveryPageIterator, "DeliveryPage"),
    ]:
        assert issubclass(walk, Iterator)
        assert not issubclass(walk, AsyncIterator)
        assert iterated(walk, Iterator)[0].__name__ == element  # type: ignore[index]
        assert callable(walk.close)


# -- the comparison catches what it must ------------------------------------------------------


class _Item:
    pass


class _AsyncItems(AsyncIterator[_Item]):
    async def __anext__(self) -> _Item:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        pass


class _ItemsWithoutClose(Iterator[_Item]):
    def __next__(self) -> _Item:
        raise StopIteration


class _Async:
    @property
    def name(self) -> str:
        return "async"

    async def fetch(self, item_id: str, *, page_size: int = 100) -> _Item:
        return _Item()

    async def count(self) -> int:
        return 0

    def walk(self) -> _AsyncItems:
        return _AsyncItems()

    async def gone(self) -> None:
        pass

    async def __aenter__(self) -> _Async:
        return self


class _Drifted:
    @property
    def name(self) -> int:
        return 0

    def fetch(self, item_id: str, page_size: int = 50) -> _Item:
        return _Item()

    async def count(self) -> str:
        return ""

    def walk(self) -> _ItemsWithoutClose:
        return _ItemsWithoutClose()

    def extra(self) -> None:
        pass


def test_the_comparison_reports_every_kind_of_drift() -> None:
    problems = surface_differences(_Async, _Drifted)

    assert "missing in the sync class: gone" in problems
    assert "missing in the sync class: __enter__" in problems
    assert "only in the sync class: extra" in problems
    assert any(p.startswith("name: returns <class 'int'>") for p in problems)
    assert any(p.startswith("fetch(page_size): kind") for p in problems)
    assert any(p.startswith("fetch(page_size): default 50") for p in problems)
    assert "count: the sync method is a coroutine function" in problems
    assert any(p.startswith("count: returns <class 'str'>") for p in problems)
    assert any(p.startswith("walk:") and "close()" in p for p in problems)
