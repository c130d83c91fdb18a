"""The state file: validated, atomic, shared by concurrent writers."""

import json
import threading

import pytest

from devdns.store import Fault, Store


def test_names_and_targets_are_stored_lowercase_and_absolute(tmp_path):
    store = Store(tmp_path / "state.json")

    record = store.add("Gallery.Client.COM.", "cname", "K3X9.Domain.VE.ai")

    assert (record.name, record.type, record.value) == (
        "gallery.client.com",
        "CNAME",
        "k3x9.domain.ve.ai.",
    )


@pytest.mark.parametrize(
    ("rdtype", "value"),
    [("A", "not-an-address"), ("AAAA", "203.0.113.7"), ("MX", "10 mx.client.com")],
)
def test_an_invalid_record_is_rejected(tmp_path, rdtype, value):
    with pytest.raises(ValueError):
        Store(tmp_path / "state.json").add("gallery.client.com", rdtype, value)


def test_adding_the_same_record_twice_keeps_one(tmp_path):
    store = Store(tmp_path / "state.json")
    store.add("gallery.client.com", "A", "203.0.113.7")
    store.add("gallery.client.com", "A", "203.0.113.7")

    assert len(store.records()) == 1


def test_a_cleared_fault_leaves_nothing_behind(tmp_path):
    store = Store(tmp_path / "state.json")
    store.set_fault("gallery.client.com", Fault(servfail=True))

    store.clear_fault("gallery.client.com")

    assert json.loads((tmp_path / "state.json").read_text())["faults"] == {}


def test_concurrent_writers_lose_no_record(tmp_path):
    path = tmp_path / "state.json"

    def add_many(worker):
        store = Store(path)  # one Store each, as separate processes would have
        for i in range(25):
            store.add(f"host{worker}-{i}.client.com", "A", "203.0.113.7")

    threads = [threading.Thread(target=add_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(Store(path).records()) == 100


@pytest.mark.parametrize("name", ["bad name!.client.com", "-x.client.com", "a..client.com", "a.*.client.com", "*"])
def test_a_name_that_is_not_a_hostname_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="invalid DNS name"):
        Store(tmp_path / "state.json").add(name, "A", "192.0.2.1")


def test_a_wildcard_is_a_leftmost_star(tmp_path):
    record = Store(tmp_path / "state.json").add("*.Domain.VE.ai.", "A", "127.0.0.1")

    assert record.name == "*.domain.ve.ai"
