from __future__ import annotations

import os
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from tenderhall.bids.tests.test_services import make_scene, seal, submit

pytestmark = pytest.mark.django_db


def test_sweep_removes_only_old_envelope_files_that_no_bid_names(tmp_path):
    # given: a committed bid, an old orphan (a crash before the commit) and a fresh one (an upload in flight)
    scene = make_scene(tmp_path)
    bid = submit(scene, seal(scene.bidder, tmp_path))
    old = default_storage.save("bids/ab/orphan-old.p7m", ContentFile(b"x"))
    fresh = default_storage.save("bids/ab/orphan-fresh.p7m", ContentFile(b"y"))
    two_hours_ago = time.time() - 7200
    os.utime(default_storage.path(old), (two_hours_ago, two_hours_ago))
    # when
    out = StringIO()
    call_command("bids", "sweep", stdout=out)
    # then
    assert not default_storage.exists(old)
    assert default_storage.exists(fresh)
    assert Path(bid.envelope.path).exists()
    assert out.getvalue().splitlines() == [f"removed {old}", "1 orphan envelope file(s)"]
