"""Batched reads: many concurrent connector reads in one provider process served by one `listall` scan.

A `terraform plan` or `pulumi refresh` reads every managed connector, each from its own gRPC
thread, about ten at a time. One GET each costs N requests against a rate-limited API; one
`listall` scan (500 a page) answers the same reads with ceil(org / 500). Neither is always cheaper:
a plan of 3 connectors in an org of 50,000 must not page through 100 pages. So the scan runs on
demand, a page at a time, and only while it pays for itself: a page is fetched only when at least
:data:`READS_PER_PAGE` reads have arrived since the scan began for each page already fetched.
A small org is read in one request; in a huge one the scan stalls after a few pages and reads fall
back to single GETs, which bounds the total at about (1 + 1/READS_PER_PAGE) x the GETs it replaces.

Reads stay as correct as single GETs:

* the scan covers every kind, so a connector absent from a *complete* scan is absent (the GET
  would have said 404), and one of another kind comes back as its GET would (the front reports it);
* a page is as fresh as a GET issued when it was fetched, inside the same walk: Terraform and
  Pulumi issue refresh reads in no fixed order, so serving a read from a page fetched moments
  earlier is one of the orders single GETs could have taken. Pages are not reused after
  :data:`FRESH_SECONDS` (a new scan starts), so a long-lived process never serves old data;
* a connector this process writes (create, update, delete) is read with a GET from then on, so a
  front always sees its own writes;
* a failed scan page is not an answer: an outage, or a page StackGuardian's API does not document
  (no list under ``msg``, a 200 with an error body, too big, too deep, a cursor that never ends:
  the client raises for each). The pages before it stay (each was checked whole), nothing is
  concluded absent, and the waiting reads fall back to their own GET (and its error);
* the name lookup before a create (no duplicate by name) is answered from a *complete* scan only,
  with what this process's own writes answered in place of their pages; after a write of ours
  failed (it may have landed), or without a complete scan, it is its own name-filtered listall.

Used by the Terraform and Pulumi providers as their engine's client (``Engine(settings,
client=BatchedClient.from_settings(settings), ...)``); the CLI already reads the org with one scan
of its own.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .stackguardian import MAX_PAGE, StackGuardianClient
from .wire import KIND, record_kind

READS_PER_PAGE = 4
FRESH_SECONDS = 60.0

Record = dict[str, Any]
_NOT_YET = object()  # the pages so far cannot answer: fetch another, or wait for the one in flight
_ASK_SERVER = object()  # the pages will not answer: the caller asks StackGuardian itself


class BatchReader:
    """Answers ``find(connector_id)`` from a shared on-demand scan, or from a single GET."""

    def __init__(
        self,
        get_one: Callable[[str], Record | None],
        scan: Callable[[], Iterator[Record]],
        *,
        page_size: int = MAX_PAGE,
        reads_per_page: int = READS_PER_PAGE,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._get_one = get_one
        self._new_scan = scan
        self._page_size = page_size
        self._reads_per_page = reads_per_page
        self._fresh_seconds = fresh_seconds
        self._clock = clock
        self._changed = threading.Condition()
        self._written: set[str] = set()
        # What our own writes left, for name lookups: Id -> the record StackGuardian answered (None: deleted).
        self._written_records: dict[str, Record | None] = {}
        self._names_uncertain = False  # a write of ours failed: name lookups go to the server
        self._reset_scan()

    def _reset_scan(self) -> None:
        self._scan: Iterator[Record] | None = None
        self._started = self._clock()
        self._records: dict[str, Record] = {}
        self._names: dict[str, list[str]] = {}  # ResourceName -> Ids, for the name-clash lookups
        self._pages = 0
        self._reads = 0
        self._complete = False
        self._failed = False
        self._scanning = False

    # ------------------------------------------------------------------ reads
    def find(self, connector_id: str) -> Record | None:
        """The record as a GET would return it, or None where a GET would answer 404."""

        def answer() -> Any:
            record = self._records.get(connector_id)
            if record is not None:
                return copy.deepcopy(record)
            return None if self._complete else _NOT_YET  # absent from a complete scan: a GET would say 404

        found = self._from_pages(answer, ask_server=lambda: connector_id in self._written)
        return self._get_one(connector_id) if found is _ASK_SERVER else found

    def find_named(self, name: str) -> list[Record] | None:
        """Every record (any kind) whose ResourceName is ``name``, as the name-filtered listall
        would answer; None when only that request can say.

        A name is proved free only by a *complete* scan, so this waits for one while pages pay
        for themselves (a lookup counts as a read), and gives up (None) in an org too large for
        that, after a failed page, or after a write of ours failed (it may have landed). What this
        process wrote successfully is answered from the write's own answer, not the page.
        """

        def answer() -> Any:
            if not self._complete:
                return _NOT_YET
            scanned = [self._records[i] for i in self._names.get(name, ()) if i not in self._written]
            ours = [r for r in self._written_records.values() if r is not None and r.get("ResourceName") == name]
            return copy.deepcopy(scanned + ours)

        found = self._from_pages(answer, ask_server=lambda: self._names_uncertain)
        return None if found is _ASK_SERVER else found

    def _from_pages(self, answer: Callable[[], Any], *, ask_server: Callable[[], bool]) -> Any:
        """``answer()`` (under the lock) once the pages can give it, fetching a page at a time while
        pages pay for themselves; :data:`_ASK_SERVER` when they cannot (or ``ask_server()`` says so)."""
        counted = False
        while True:
            with self._changed:
                if ask_server():
                    return _ASK_SERVER
                if not self._scanning and self._clock() - self._started > self._fresh_seconds:
                    self._reset_scan()
                    counted = False
                if not counted:
                    self._reads += 1
                    counted = True
                result = answer()
                if result is not _NOT_YET:
                    return result
                if self._scanning:
                    self._changed.wait()  # the page in flight may hold it
                    continue
                if self._failed or self._pages >= math.ceil(self._reads / self._reads_per_page):
                    return _ASK_SERVER  # another page would cost more than the requests it could save
                if self._pages == 0:
                    self._started = self._clock()  # freshness counts from the first page
                self._scanning = True
            self._scan_one_page()

    def _scan_one_page(self) -> None:
        page: list[Record] = []
        done = failed = False
        try:
            if self._scan is None:
                self._scan = self._new_scan()
            for record in self._scan:
                page.append(record)
                if len(page) == self._page_size:
                    break
            else:
                done = True
        except Exception:
            failed = True  # each waiting read now asks with its own GET and meets its own error
        with self._changed:
            self._pages += 1
            for record in page:
                connector_id = str(record.get("Id") or "")
                if connector_id and connector_id not in self._written:
                    self._records[connector_id] = record
                    self._names.setdefault(str(record.get("ResourceName") or ""), []).append(connector_id)
            self._complete = done and not failed
            self._failed = failed
            self._scanning = False
            self._changed.notify_all()

    # ------------------------------------------------------------------ writes
    def forget(self, connector_id: str) -> None:
        """This process writes the connector: its reads go to StackGuardian from now on."""
        with self._changed:
            self._written.add(connector_id)
            self._records.pop(connector_id, None)

    def wrote(self, connector_id: str, record: Mapping[str, Any] | None) -> None:
        """A write of ours succeeded: ``record`` is what StackGuardian answered (None: deleted).

        Name lookups keep being answered from the scan, with this record in place of the scan's.
        """
        with self._changed:
            self.forget(connector_id)
            self._written_records[connector_id] = copy.deepcopy(dict(record)) if record is not None else None

    def write_failed(self, connector_id: str) -> None:
        """A write of ours failed: it may or may not have landed, so names are the server's to say."""
        with self._changed:
            self.forget(connector_id)
            self._names_uncertain = True


class BatchedClient(StackGuardianClient):
    """The StackGuardian client whose ``find`` goes through a :class:`BatchReader`.

    Writes pass through unchanged and make later reads of what they touched single GETs; their
    answers keep name lookups served from the scan (a failed write sends those to the server).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reader = BatchReader(super().find, lambda: super(BatchedClient, self).list_all(kind=None))

    def find(self, connector_id: str) -> Record | None:
        return self.reader.find(connector_id)

    def list_all(
        self,
        *,
        kind: str | Sequence[str] | None = KIND,
        resource_names: Sequence[str] | None = None,
        limit: int = MAX_PAGE,
    ) -> Iterator[Record]:
        """A lookup of one name (the name-clash check before a create) is answered from the scan."""
        if resource_names is not None and len(resource_names) == 1 and isinstance(kind, str):
            named = self.reader.find_named(resource_names[0])
            if named is not None:
                return iter([record for record in named if record_kind(record) == kind])
        return super().list_all(kind=kind, resource_names=resource_names, limit=limit)

    def create(self, payload: Mapping[str, Any], *, conflict_hint: str | None = None) -> Record:
        connector_id = str(payload.get("Id") or "")
        self.reader.forget(connector_id)
        try:
            record = super().create(payload, conflict_hint=conflict_hint)
        except BaseException:
            self.reader.write_failed(connector_id)
            raise
        self.reader.wrote(str(record.get("Id") or connector_id), record)
        return record

    def update(
        self, connector_id: str, patch: Mapping[str, Any], *, not_modified_since: datetime | None = None
    ) -> Record:
        self.reader.forget(connector_id)
        try:
            record = super().update(connector_id, patch, not_modified_since=not_modified_since)
        except BaseException:
            self.reader.write_failed(connector_id)
            raise
        self.reader.wrote(connector_id, record)
        return record

    def delete(self, connector_id: str, *, missing_ok: bool = False) -> bool:
        self.reader.forget(connector_id)
        try:
            deleted = super().delete(connector_id, missing_ok=missing_ok)
        except BaseException:
            self.reader.write_failed(connector_id)
            raise
        self.reader.wrote(connector_id, None)
        return deleted

