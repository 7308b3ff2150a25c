"""The rendered-file archive: each document's PDF as syncd first rendered it.

Keyed by the renderer's settings and the whole numbered document, stored in the shared
content-addressed blob table: the second target of a pipeline, a retry after a crash and the
dashboard all get the bytes the first target sent, and a document is laid out once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping

import sqlalchemy as sa

from syncd.store.base import StoreBase
from syncd.store.schema import blobs, rendered_files
from syncd.store.types import CHUNK, utcnow


class RenderedMixin(StoreBase):
    def rendered(self, keys: Collection[str]) -> dict[str, bytes]:
        """The archived files among `keys`."""
        wanted = sorted(set(keys))
        found: dict[str, bytes] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), CHUNK):
                found.update((key, bytes(data)) for key, data in conn.execute(
                    sa.select(rendered_files.c.key, blobs.c.data)
                    .join(blobs, blobs.c.sha256 == rendered_files.c.sha256)
                    .where(rendered_files.c.key.in_(wanted[i:i + CHUNK]))))
        return found

    def keep_rendered(self, files: Mapping[str, bytes], media_type: str) -> dict[str, bytes]:
        """Archive new files; returns what is archived under their keys now (a key another
        worker archived meanwhile keeps that worker's file)."""
        if not files:
            return {}
        now = utcnow()
        digests = {key: hashlib.sha256(data).hexdigest() for key, data in files.items()}
        with self.tx() as conn:
            for key, data in files.items():
                conn.execute(self._insert(blobs).values(
                    sha256=digests[key], size=len(data), data=data, created_at=now
                ).on_conflict_do_nothing(index_elements=[blobs.c.sha256]))
                conn.execute(self._insert(rendered_files).values(
                    key=key, sha256=digests[key], media_type=media_type, created_at=now
                ).on_conflict_do_nothing(index_elements=[rendered_files.c.key]))
            kept = dict(conn.execute(sa.select(rendered_files.c.key, rendered_files.c.sha256)
                                     .where(rendered_files.c.key.in_(list(files)))).all())
        theirs = [key for key, digest in kept.items() if digest != digests[key]]
        return {**files, **(self.rendered(theirs) if theirs else {})}
