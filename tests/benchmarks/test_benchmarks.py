"""The benchmark scripts: scoring is right on hand-made examples, and each script runs end to
end on a tiny population and writes results of the documented shape."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from gremlin_python.process.traversal import T

import gremlin
from benchmarks import (accuracy, bulk_load, collector, explain, first_walks, group_wall, ingest, ingest_fingerprint,
                        ingest_split, match, memory, population, population_alt, render, request_profile, resolve, resolve_at_scale,
                        resolve_in_process, resolve_many, tenant_copies, write_idioms, wrong_pairs)
from benchmarks.harness import percentile
from benchmarks.service import WARMUP_TENANT, after_warmup, backend_names, gremlin_server, warmup_mix
from identity import IdentityGraph, TenantConfig
from identity.graph.connection import close_all, open_traversal
from tests.gremlin_servers import KINDS as REAL_SERVERS

TINY = ["--people", "12", "--seed", "3", "--quiet"]


def test_pairwise_scores_count_pairs_from_the_contingency_table() -> None:
    truth = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2}
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Y"}
    scores = accuracy.pairwise_scores(truth, predicted)
    # true pairs ab ac bc de; predicted pairs ab cd ce de; both: ab de
    assert (scores.true_pairs, scores.predicted_pairs, scores.correct_pairs) == (4, 4, 2)
    assert scores.precision == scores.recall == scores.f1 == 0.5


def test_unresolved_items_are_alone_and_a_perfect_clustering_scores_one() -> None:
    truth = {"a": 1, "b": 1, "c": 2}
    scores = accuracy.pairwise_scores(truth, {"a": "X"})  # b and c unknown to the service
    assert (scores.precision, scores.recall, scores.predicted_pairs) == (1.0, 0.0, 0)
    perfect = accuracy.pairwise_scores(truth, {"a": "P", "b": "P", "c": "Q"})
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)


def test_one_cluster_for_everyone_has_full_recall_and_poor_precision() -> None:
    truth = {n: n // 3 for n in range(9)}  # three people with three identifiers each
    scores = accuracy.pairwise_scores(truth, {n: "all" for n in range(9)})
    assert scores.recall == 1.0 and scores.precision == pytest.approx(9 / 36)


def test_connected_components_join_identifiers_that_share_events() -> None:
    components = accuracy.connected_components([[("e", "a"), ("p", "1")], [("p", "1"), ("d", "x")], [("e", "b")]])
    assert components[("e", "a")] == components[("d", "x")] != components[("e", "b")]


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 0.5), percentile(samples, 0.95), percentile(samples, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0


def test_population_is_seeded_labelled_and_accepted_by_the_service() -> None:
    mix = population.Mix(people=40, seed=5, junk_rate=0.3)
    first = [item.to_json() for item in population.generate(mix)]
    assert first == [item.to_json() for item in population.generate(mix)]
    assert first != [item.to_json() for item in population.generate(population.Mix(people=40, seed=6))]
    items = list(population.generate(mix))
    assert all(len(item.owners) == len(item.event["identifiers"]) for item in items)
    owners = {owner[0] for item in items for owner in item.owners}
    assert owners == {"p", "h", "s"}  # people, households, shared
    assert {item.event["type"] for item in items} == {"login", "purchase", "page_view"}
    identity = IdentityGraph(open_traversal("memory://"), "t")
    try:
        results = identity.ingest([item.event for item in items])  # raises on any invalid event
    finally:
        close_all()
    blocked = sum(1 for r in results for refusal in r.refused if refusal.get("reason") == "blocked")
    assert blocked > 0  # the junk is there and the default guards drop it


def test_population_tablet_profiles_give_each_member_their_own_cookies_on_the_tablet() -> None:
    def tablet_cookie_owners(mix: population.Mix) -> set[str]:
        """The kinds of owner ("p", "h") of the cookies seen with a household's tablet."""
        found = set()
        for item in population.generate(mix):
            owners = {i["type"]: owner for i, owner in zip(item.event["identifiers"], item.owners)}
            if owners.get("device_id", "").startswith("h-"):
                found.add(owners["cookie"][0])
        return found

    mix = dict(people=60, seed=5, household_size=3.0, tablet_share=1.0)
    assert tablet_cookie_owners(population.Mix(**mix)) == {"h"}
    assert tablet_cookie_owners(population.Mix(**mix, tablet_profiles=1.0)) == {"p"}
    assert population.Mix().tablet_profiles == 0.0  # the default population is drawn as before


def test_population_rejects_impossible_mixes() -> None:
    with pytest.raises(ValueError):
        population.Mix(wifi_use=1.5)
    with pytest.raises(ValueError):
        population.Mix(people=0)


def test_the_alternative_population_has_family_devices_with_a_profile_per_user() -> None:
    """population_alt.py: seeded, labelled, accepted by the service, and holding what issue #17's
    populations hold: a cookie of one person on a device a household owns (a browser profile on
    the family laptop or tablet), home IPs a household owns, public Wi-Fi and junk nobody owns."""
    mix = population_alt.AltMix(people=120, seed=4, junk_rate=0.2, wifi_use=0.3)
    items = list(population_alt.generate_alt(mix))
    assert [i.to_json() for i in items] == [i.to_json() for i in population_alt.generate_alt(mix)]
    assert [i.to_json() for i in items] != [i.to_json() for i in population_alt.generate_alt(
        population_alt.AltMix(people=120, seed=5))]
    assert all(len(item.owners) == len(item.event["identifiers"]) for item in items)
    kinds = set()
    for item in items:
        owned = {i["type"]: o for i, o in zip(item.event["identifiers"], item.owners)}
        if owned.get("device_id", "").startswith("h-") and owned.get("cookie", "").startswith("p-"):
            kinds.add("profile on a family device")
        if owned.get("ip", "").startswith("h-"):
            kinds.add("home ip")
        if any(i["type"] == "ip" and i["value"].startswith("192.0.") and o == population.SHARED
               for i, o in zip(item.event["identifiers"], item.owners)):
            kinds.add("public wifi")
    assert kinds == {"profile on a family device", "home ip", "public wifi"}
    identity = IdentityGraph(open_traversal("memory://"), "t")
    try:
        results = identity.ingest([item.event for item in items])
    finally:
        close_all()
    assert any(refusal.get("reason") == "blocked" for r in results for refusal in r.refused)
    with pytest.raises(ValueError):
        population_alt.AltMix(wifi_use=1.5)


def test_accuracy_and_wrong_pairs_run_on_the_alternative_population(tmp_path: Path, capsys) -> None:
    assert accuracy.main(["--generator", "alt", *TINY, "--hops", "3", "--guards", "default", "--out",
                          str(tmp_path)]) == 0
    result = json.loads((tmp_path / "accuracy.json").read_text())
    assert result["generator"] == "alt" and result["population"]["own_device_use"] == 0.65
    capsys.readouterr()
    assert wrong_pairs.main(["--generator", "alt", "--people", "60", "--seed", "2"]) == 0
    assert capsys.readouterr().out.startswith("default: precision ")


def test_the_evidence_ceiling_never_walks_through_an_identifier_no_one_person_owns() -> None:
    ann, bob, tablet = [("email", "ann"), ("device_id", "ann-phone")], [("email", "bob")], ("device_id", "tablet")
    truth = accuracy.Truth(events=[], keys=[[ann[0], tablet], [bob[0], tablet], [ann[1], tablet], [ann[0], ann[1]]],
                           owner={ann[0]: "p-ann", ann[1]: "p-ann", bob[0]: "p-bob", tablet: population.SHARED})
    ceiling = accuracy.evidence_ceiling(truth)
    assert ceiling[ann[0]] == ceiling[ann[1]] != ceiling[bob[0]] and tablet not in ceiling
    # without the last event nothing proves Ann's phone is hers: only the tablet ties them
    truth.keys.pop()
    assert accuracy.evidence_ceiling(truth)[ann[1]] != accuracy.evidence_ceiling(truth)[ann[0]]
    scores = accuracy.pairwise_scores(truth.person_owned, accuracy.evidence_ceiling(truth))
    assert (scores.precision, scores.recall) == (1.0, 0.0)


def test_guards_off_resolution_is_connected_components() -> None:
    """What accuracy.py reports for 'guards off' is what the service resolves with no guards."""
    mix = population.Mix(people=6, seed=2, events_per_person=3, wifi_use=0, tablet_share=0, junk_rate=0,
                         placeholder_use=0)
    truth = accuracy.truth_of(population.generate(mix))
    identity = IdentityGraph(open_traversal("memory://"), "t", config=accuracy.guards_off())
    try:
        identity.ingest(truth.events)
        customers = accuracy.resolve_all(identity, truth.owner, 10, "", quiet=True)
    finally:
        close_all()
    components = accuracy.connected_components(truth.keys)
    same = accuracy.pairwise_scores(components, customers)
    assert (same.precision, same.recall) == (1.0, 1.0) and same.true_pairs > 0


def test_accuracy_script_writes_scores_per_guard_and_hop(tmp_path: Path) -> None:
    assert accuracy.main([*TINY, "--hops", "1", "3", "--guards", "off", "evidence ceiling", "default",
                          "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "accuracy.json").read_text())
    assert [(r["guards"], r["hops"]) for r in result["runs"]] == [
        ("off", None), ("evidence ceiling", None), ("default", 1), ("default", 3)]
    for row in result["runs"]:
        assert 0 <= row["precision"] <= 1 and 0 <= row["recall"] <= 1 and row["largest_customer"] >= 1
    off = result["runs"][0]
    assert off["recall"] == 1.0 or off["true_pairs"] == 0  # components never split a person
    assert result["command"].startswith("python ")
    assert result["machine"]["cores"] >= 1


def test_ingest_fingerprint_is_the_same_for_the_same_ingest_and_holds_what_was_stored(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert ingest_fingerprint.main(["--people", "12", "--seed", "3", "--out", str(first)]) == 0
    assert ingest_fingerprint.main(["--people", "12", "--seed", "3", "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()  # sealed values and ingest times left out
    durable = tmp_path / "durable.json"
    assert ingest_fingerprint.main(["--people", "12", "--seed", "3", "--store", "durable", "--out", str(durable)]) == 0
    assert durable.read_bytes() == first.read_bytes()  # the durable store stores the same graph
    document = json.loads(first.read_text())
    assert set(document) == {"default-batch20", "default-batch7", *(f"hops{h}-generic8" for h in range(4))}
    run = document["default-batch20"]
    assert len(run["vertices"]) == run["stats"]["identifiers"] + run["stats"]["events"]
    assert len(run["edges"]) == run["stats"]["links"] + run["stats"]["observations"]
    assert all(result["customer_id"] for result in run["results"])
    assert not any('"value"' in row for row in run["vertices"])


def test_ingest_split_parts_add_up_to_the_ingest() -> None:
    events = [item.event for item in population.generate(population.Mix(people=12, seed=3))]
    for backend in ("memory", "durable"):
        split = ingest_split.run(backend, events, 5)
        assert all(split[part] > 0 for part in ("prepare", "read", "view", "plan", "write", "build"))
        assert split["view"] < split["read"] and split["build"] < split["write"]
        parts = ("prepare", "read", "plan", "write", "serialise", "decode", "rest")  # none inside another here
        assert sum(split[part] for part in parts) == pytest.approx(split["total"])
        assert split["prepare"] + split["read"] + split["plan"] + split["write"] <= split["total"] * 1.01
        assert split["serialise"] == split["decode"] == 0  # in process: no driver
        assert (split["journal"] > 0) == (backend == "durable")


@pytest.mark.parametrize("graph", ["durable", "memory://"])
def test_resolve_in_process_prints_the_cpu_of_each_resolve(graph: str, capsys) -> None:
    argv = ["--people", "12", "--seed", "3", "--resolves", "5"] + ([] if graph == "durable" else ["--graph-url", graph])
    assert resolve_in_process.main(argv) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{sum(1 for _ in population.generate(population.Mix(people=12, seed=3)))} events, 5 resolves: ")
    assert float(line.split(": ")[1].split()[0]) > 0 and line.endswith(f"({graph})")


def test_write_idioms_compared_write_the_same_values() -> None:
    per_child, one_step = write_idioms._graph(), write_idioms._graph()
    write_idioms.last_seen_per_value(per_child, 1).iterate()
    write_idioms.last_seen_one_step(one_step, 1).iterate()
    times = [g.V().order().by(T.id).values("last_seen").to_list() for g in (per_child, one_step)]
    assert times[0] == times[1] and max(times[0]) == 10 + 2 * write_idioms._GROUPS - 1
    write_idioms.links_per_child(per_child, 0).iterate()
    write_idioms.links_one_step(one_step, -100_000).iterate()
    links = [g.E().order().by(T.id).element_map().to_list() for g in (per_child, one_step)]
    assert links[0] == links[1] and len(links[0]) == write_idioms._GROUPS
    assert write_idioms.measure(one_step, write_idioms.links_one_step, 2, write_idioms._GROUPS, 0) > 0


def test_request_profile_shares_the_writes_server_time_by_top_level_step() -> None:
    metrics = {"dur": 4e6, "metrics": [{"name": "InjectStep(java.util.ArrayList$Itr@1)", "dur": 1e6},
                                       {"name": "TraversalSideEffectStep([ConstantStep([{id=t:v1}]), UnfoldStep])",
                                        "dur": 3e6}]}
    row = {"kind": "ingest", "op": "write", "step_ms": request_profile._step_ms(metrics)}
    assert row["step_ms"] == [("InjectStep", 1.0), ("TraversalSideEffectStep ConstantStep", 3.0)]
    shares = request_profile.step_shares([row, dict(row), {**row, "op": "read"}])
    assert shares == ["  0  25.0%  InjectStep", "  1  75.0%  TraversalSideEffectStep ConstantStep"]


def test_request_profile_writes_the_tenant_out_where_partition_strategy_filters() -> None:
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import P
    from identity.domain.tenant_graph import tenant_scoped
    g = tenant_scoped(open_traversal("memory://"), "acme")
    code = g.V("a").has_label("identifier").both_e("link").other_v().project("x").by(__.both("nolink").id_()).bytecode
    written = request_profile._tenant_written_out(request_profile._without_strategies(code), P.within(["acme"]))
    assert request_profile._tenant(code) == "acme" and written.source_instructions == []
    steps = [step[0] for step in written.step_instructions]
    assert steps == ["V", "has", "hasLabel", "bothE", "has", "otherV", "has", "project", "by"]
    assert [step[0] for step in written.step_instructions[-1][1].step_instructions] == ["both", "has", "id"]
    close_all()


def test_request_profile_splits_a_resolve_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    from gremlin.server import running_server
    import identity.domain.tenant_graph as tenant_graph
    with running_server(gremlin.Graph()) as url:
        ids = IdentityGraph(open_traversal(url), "acme")
        ids.ingest([{"event_id": "e1", "type": "login", "timestamp": "2026-11-01T10:00:00Z",
                     "identifiers": [{"type": "email", "value": "a@example.com"}, {"type": "phone", "value": "+14155550100"}]}])
        sent: list = []
        original = tenant_graph.submit
        monkeypatch.setattr(tenant_graph, "submit",
                            lambda traversal: (sent.append(request_profile._copy(traversal)), original(traversal))[1])
        ids.resolve("email", "a@example.com")
        lines = request_profile.split_resolve(url, sent, 2)
    close_all()
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert {"the service's connection (retries, breaker, telemetry)", "bare connection (ServerRemoteConnection)",
            "gremlinpython's DriverRemoteConnection", "bare, no PartitionStrategy",
            "bare, the tenant's has() written out instead", "bare, inject(1)",
            "pre-serialised, raw over a WebSocket (no encoding, no decoding)", "server execution (profile())"} <= rows.keys()


@pytest.mark.parametrize("kind", ["memory", *REAL_SERVERS])
def test_write_idioms_compared_create_the_same_elements(kind: str, request: pytest.FixtureRequest,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = "memory://" if kind == "memory" else request.getfixturevalue("gremlin_servers").url(kind)
    tenant = f"w{uuid.uuid4().hex[:8]}"  # a real server keeps what other tests wrote
    monkeypatch.setattr(write_idioms, "_TENANT", tenant)
    g = write_idioms._graph(url)
    # the base graph is in the partition the rounds read (a real server's mergeV inside a child
    # traversal ignores PartitionStrategy: the tenant must be in its search map)
    assert g.V().count().next() == write_idioms._VERTICES
    write_idioms.identifiers_merged(g, 1).iterate()
    write_idioms.identifiers_added(g, 2).iterate()

    def identifiers(round_: int) -> list[dict]:
        ids = [row["id"] for row in write_idioms._identifier_rows(round_)]
        maps = g.V(*ids).element_map().to_list()
        return sorted(repr(sorted((str(k), v) for k, v in m.items() if k != T.id)) for m in maps)
    assert identifiers(1) == identifiers(2) and len(identifiers(1)) == write_idioms._GROUPS
    with pytest.raises(Exception, match="already exists"):  # a create, not an upsert
        write_idioms.identifiers_added(g, 2).iterate()
    write_idioms.observations_merged(g, 3).iterate()
    write_idioms.observations_added(g, 4).iterate()
    for round_ in (3, 4):
        rows = write_idioms._event_rows(round_)
        observed = {row["id"]: sorted(g.V(row["id"]).out("observed").id_().to_list()) for row in rows}
        assert observed == {row["id"]: sorted(row["observes"]) for row in rows}
        tenants = g.V(*observed).out_e("observed").values("tenant").to_list()
        assert tenants == [tenant] * write_idioms._GROUPS * write_idioms._OBSERVED


@pytest.mark.integration
@pytest.mark.slow
def test_ingest_and_resolve_scripts_measure_a_real_service_and_render(tmp_path: Path) -> None:
    assert ingest.main([*TINY, "--backends", "memory", "--concurrency", "1", "2", "--batch", "5",
                        "--out", str(tmp_path)]) == 0
    measured = json.loads((tmp_path / "ingest.json").read_text())["backends"]["memory"]
    assert [row["concurrency"] for row in measured["levels"]] == [1, 2]
    assert all(row["errors"] == 0 and row["events_per_second"] > 0 for row in measured["levels"])
    assert all(row["service_cpu_ms_per_event"] > 0 for row in measured["levels"])
    assert measured["stats"]["identifiers"] > 0
    assert resolve.main([*TINY, "--backends", "memory", "--concurrency", "1", "3", "--requests", "12",
                         "--rate", "20", "--rate-seconds", "0.5", "--walk-samples", "4", "--out", str(tmp_path)]) == 0
    measured = json.loads((tmp_path / "resolve.json").read_text())["backends"]["memory"]
    assert [row["requests"] for row in measured["levels"]] == [12, 12]
    assert measured["fixed_rate"]["target_rate"] == 20 and measured["fixed_rate"]["errors"] == 0
    assert measured["walk"]["walk_round_trips_mean"] >= 2
    accuracy.main([*TINY, "--hops", "3", "--guards", "off", "default", "--out", str(tmp_path)])
    page = tmp_path / "page.md"
    page.write_text(f"intro\n{render.BEGIN}\nold\n{render.END}\noutro\n")
    render.render(page, tmp_path, plots=False)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    for heading in ("### Accuracy", "### Ingest through RPC", "### Resolve through RPC"):
        assert heading in text


@pytest.mark.integration
@pytest.mark.slow
def test_resolve_many_script_compares_with_resolve_through_a_real_service(tmp_path: Path) -> None:
    assert resolve_many.main([*TINY, "--identifiers", "40", "--per-call", "15", "--out", str(tmp_path)]) == 0
    measured = json.loads((tmp_path / "resolve_many.json").read_text())["backends"]["memory"]
    assert measured["same_answers"] and measured["identifiers"] == 40 and measured["known"] == 40
    assert measured["resolve_many"]["seconds"] > 0 and measured["service_cpu_ms_per_identifier"]["resolve"] > 0


def test_only_the_real_server_is_warmed_up_first_on_other_people() -> None:
    calls: list = []

    def measure(url: str | None, warm: bool) -> str:
        calls.append((url, warm))
        return "warm-up" if warm else "measured"
    assert after_warmup("gremlin", "ws://given", 5, measure) == "measured"
    assert calls == [("ws://given", True), ("ws://given", False)]
    calls.clear()
    assert after_warmup("gremlin", "ws://given", 0, measure) == "measured" and calls == [("ws://given", False)]
    calls.clear()
    assert after_warmup("durable", None, 5, measure) == "measured" and calls == [(None, False)]
    mix = population.Mix(people=40, seed=3, household_size=3.0)
    warm = warmup_mix(mix, 7)
    assert (warm.people, warm.household_size) == (7, 3.0) and warm.seed != mix.seed


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("script", ["ingest", "resolve_many", "resolve"])
def test_the_real_server_is_warmed_up_by_another_tenant_and_measured_as_the_embedded_graph(
        script: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if backend_names(["gremlin"], None) != ["gremlin"]:
        pytest.skip("no Java or no ../shared/gremlin-server to start a fresh server from")
    sizes = {"ingest": ["--concurrency", "1", "--batch", "5"],
             "resolve_many": ["--identifiers", "30", "--per-call", "15"],
             "resolve": ["--concurrency", "2", "--requests", "10", "--rate", "0", "--walk-samples", "3"]}[script]
    main = {"ingest": ingest.main, "resolve_many": resolve_many.main, "resolve": resolve.main}[script]
    with gremlin_server() as url:  # fresh: what it holds afterwards is this run's
        assert main([*TINY, *sizes, "--backends", "memory", "gremlin", "--gremlin-url", url,
                     "--warmup-people", "6", "--out", str(tmp_path)]) == 0
        g = open_traversal(url)
        try:
            tenants = g.V().has_label("identifier").group_count().by("tenant").next()
        finally:
            close_all()
    assert "warming the graph server up on 6 other people" in capsys.readouterr().err
    saved = json.loads((tmp_path / f"{script}.json").read_text())
    assert saved["warmup_people"] == 6
    memory, gremlin = saved["backends"]["memory"], saved["backends"]["gremlin"]
    # the warm-up's identifiers are another tenant's, so the measured run's are the embedded graph's
    assert set(tenants) == {"dev", WARMUP_TENANT} and tenants[WARMUP_TENANT] > 0
    if script == "ingest":
        assert gremlin["stats"]["identifiers"] == memory["stats"]["identifiers"] == tenants["dev"]
        assert gremlin["stats"]["events"] == memory["stats"]["events"]
    elif script == "resolve_many":
        assert gremlin["known"] == memory["known"] == 30 and gremlin["same_answers"]
    else:
        assert [row["errors"] for row in gremlin["levels"]] == [0]
        assert gremlin["walk"]["walk_round_trips_mean"] >= 2  # the walk found the measured tenant's identifiers


def test_explain_script_measures_explain_against_resolve(tmp_path: Path) -> None:
    assert explain.main([*TINY, "--pairs", "5", "--out", str(tmp_path)]) == 0
    kinds = json.loads((tmp_path / "explain.json").read_text())["kinds"]
    assert sorted(kinds) == ["one person", "two people"]
    assert all(row["pairs"] == 5 and row["explain_per_resolve"] > 0 for row in kinds.values())
    assert kinds["two people"]["same_customer"] <= kinds["one person"]["same_customer"]


@pytest.mark.slow
def test_collector_script_compares_the_settler_in_processes_of_their_own(tmp_path: Path) -> None:
    assert collector.main([*TINY, "--resolves", "30", "--rounds", "1", "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "collector.json").read_text())["runs"]
    assert [run["setting"] for run in runs] == ["plain", "settled"]
    plain, settled = runs
    assert plain["objects_frozen"] == 0 and "freezes" not in plain
    assert settled["freezes"] >= 1 and settled["objects_frozen"] > settled["objects_walked"]
    assert all(run["p50_ms"] <= run["p99_ms"] <= run["max_ms"] for run in runs)


@pytest.mark.integration
@pytest.mark.slow
def test_first_walks_resolves_identifiers_of_the_graph_memory_kept(tmp_path: Path, capsys) -> None:
    graph, keys = tmp_path / "graph", tmp_path / "keys.json"
    assert memory.main([*TINY, "--keep", str(graph), "--out", str(tmp_path)]) == 0
    population_flags = ["--people", "12", "--seed", "3"]
    assert first_walks.main([*population_flags, "--graph", str(graph), "--keys", str(keys), "--walks", "0"]) == 0
    assert keys.exists() and len(json.loads(keys.read_text())) > 0
    capsys.readouterr()
    assert first_walks.main([*population_flags, "--graph", str(graph), "--keys", str(keys), "--walks", "6"]) == 0
    assert capsys.readouterr().out.strip() == "6 of 6 found"


@pytest.mark.integration
@pytest.mark.slow
def test_resolve_at_scale_serves_the_graph_memory_kept(tmp_path: Path) -> None:
    graph = tmp_path / "graph"
    assert memory.main([*TINY, "--keep", str(graph), "--out", str(tmp_path)]) == 0
    kept = json.loads((tmp_path / "memory.json").read_text())
    assert kept["identifiers"] > 0 and kept["sqlite_bytes_per_identifier"] > 0
    assert memory.main([*TINY, "--reopen", str(graph), "--cold", "5", "--warm", "10", "--more-events", "20",
                        "--batch", "7", "--out", str(tmp_path), "--name", "reopened"]) == 0
    reopened = json.loads((tmp_path / "reopened.json").read_text())
    # a disk-served graph opens in milliseconds: the time is kept to 0.1 ms, and may round to 0
    assert 0 <= reopened["open_seconds"] < 60 and reopened["resolve_cold"]["requests"] == 5
    assert reopened["resolve_warm"]["found"] == 10 and reopened["more"]["events"] == 20
    assert resolve_at_scale.main([*TINY, "--graph", str(graph), "--first", "10", "--requests", "20", "--rate", "20",
                                  "--rate-seconds", "0.5", "--out", str(tmp_path)]) == 0
    measured = json.loads((tmp_path / "resolve_at_scale.json").read_text())
    assert measured["identifiers"] > kept["identifiers"]  # and those of the 20 more events
    assert measured["readiness"]["ready_seconds"] >= measured["readiness"]["listening_seconds"] > 0
    # every identifier asked for is one the graph holds: none of the resolves fails
    assert measured["first_requests"]["requests"] == 10 and measured["first_requests"]["errors"] == 0
    assert measured["closed_loop"]["requests"] == 20 and measured["closed_loop"]["errors"] == 0
    assert measured["fixed_rate"]["errors"] == 0 and measured["service_rss_bytes"] > 0
    # the service's collections by phase and generation (a resolve leaves young collections behind)
    phases = [measured[phase]["collections"] for phase in ("first_requests", "closed_loop", "fixed_rate")]
    assert all(set(collections) <= {"gen0", "gen1", "gen2"} for collections in phases)
    assert sum(collections.get("gen0", {}).get("count", 0) for collections in phases) > 0


def test_match_runs_its_patterns_and_writes_what_it_measured(tmp_path: Path, capsys) -> None:
    assert match.main(["--only", "garcia", "--only", "busy-songs", "--quiet", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "match.json").read_text())
    rows = written["results"]
    assert rows["garcia"]["memory://"]["results"] == 2 and rows["busy-songs"]["memory://"]["results"] == 1
    assert rows["garcia"]["memory://"]["wall_ms"] > 0
    assert "garcia" in capsys.readouterr().out


def test_bulk_load_writes_the_graph_ingest_writes(tmp_path: Path) -> None:
    assert bulk_load.main([*TINY, "--check", "--out", str(tmp_path)]) == 0
    checked = json.loads((tmp_path / "bulk_load.json").read_text())
    assert checked["all_same"] and len(checked["configs"]) == 7
    assert bulk_load.main([*TINY, "--keep", str(tmp_path / "graph"), "--batch", "5", "--out", str(tmp_path),
                           "--name", "loaded"]) == 0
    loaded = json.loads((tmp_path / "loaded.json").read_text())
    assert loaded["identifiers"] > 0 and loaded["events"] == checked["events"]


def test_bulk_load_moves_customer_ids_as_ingest_does(tmp_path: Path) -> None:
    """An identifier turning generic splits its customer (identity.domain.customers): the id it founded
    passes to the identifier left, whose own merged-in id is retired into it. The loader writes
    those ids and the retired record as the chunk traversal does."""
    def event(event_id: str, *identifiers: tuple[str, str]) -> dict:
        return {"event_id": event_id, "type": "t", "timestamp": 1_714_550_400_000,
                "identifiers": [{"type": t, "value": v} for t, v in identifiers]}
    founder, joined, new = ("device_id", "dev-x"), ("phone", "+15550100200"), ("email", "z@example.com")
    events = [event("e1", founder), event("e2", joined), event("e3", founder, joined), event("e4", founder, new)]
    runs = bulk_load.ingest_both_ways(events, TenantConfig(generic_threshold=1), 1, tmp_path)
    assert runs["bulk"][:2] == runs["ingest"][:2]
    kept, merged = runs["ingest"][0][2]["customer_id"], runs["ingest"][0][2]["merged"][0]
    retired = [row for row in runs["bulk"][1] if row[2] == "retired"]
    assert len(retired) == 1 and merged in retired[0][1][1] and ("heir", ("str", repr(kept))) in retired[0][3]


def test_tenant_copies_grow_the_graph_and_leave_the_loaded_tenant_as_it_was(tmp_path: Path) -> None:
    graph = tmp_path / "graph"
    assert memory.main([*TINY, "--keep", str(graph), "--out", str(tmp_path)]) == 0
    kept = json.loads((tmp_path / "memory.json").read_text())
    assert tenant_copies.main(["--graph", str(graph), "--copies", "2", "--quiet", "--out", str(tmp_path)]) == 0
    grown = json.loads((tmp_path / "tenant_copies.json").read_text())
    assert grown["elements"] == {label: 3 * count for label, count in kept["elements"].items()}
    assert memory.main([*TINY, "--reopen", str(graph), "--cold", "3", "--warm", "3", "--out", str(tmp_path),
                        "--name", "reopened"]) == 0
    reopened = json.loads((tmp_path / "reopened.json").read_text())
    assert reopened["identifiers"] == 3 * kept["identifiers"] and reopened["resolve_warm"]["found"] == 3


def test_tenant_copies_are_in_the_value_indexes_the_graph_keeps(tmp_path: Path) -> None:
    graph = tmp_path / "graph"
    assert memory.main([*TINY, "--keep", str(graph), "--out", str(tmp_path)]) == 0

    def vertices_of_cid(cid: str | None = None) -> tuple[str, dict[str, int]]:
        url = f"file://{graph}"
        g = open_traversal(url)
        try:
            cid = cid or g.V().has_label("identifier").values("cid").next()
            # has('cid') right after V() is answered from the cid index (built here by the first lookup)
            return cid, g.V().has("cid", cid).group_count().by("tenant").next()
        finally:
            close_all()
            gremlin.forget_graph(url)  # the directory's lock, for tenant_copies

    cid, before = vertices_of_cid()
    assert tenant_copies.main(["--graph", str(graph), "--copies", "2", "--quiet", "--no-save"]) == 0
    assert vertices_of_cid(cid)[1] == {**before, "bench1": before["bench"], "bench2": before["bench"]}


def test_wrong_pairs_reuse_tells_a_card_several_people_pay_with_from_one_persons(capsys) -> None:
    def checkout(person: str, device: str, device_owner: str, email: str, card: str, card_owner: str):
        identifiers = [{"type": "device_id", "value": device}, {"type": "email", "value": email},
                       {"type": "payment_fingerprint", "value": card}]
        return population.LabelledEvent(person, {"identifiers": identifiers}, [device_owner, person, card_owner])
    wrong_pairs.reuse_evidence([
        checkout("p-1", "ann-phone", "p-1", "ann@example.com", "card-ann", "p-1"),
        checkout("p-2", "bob-phone", "p-2", "bob@example.com", "card-ann", "p-1"),  # her son pays with it
        checkout("p-1", "tablet", "h-1", "ann@example.com", "card-own", "p-1"),
        checkout("p-1", "ann-phone", "p-1", "ann.shop@example.com", "card-own", "p-1")])
    lines = capsys.readouterr().out.splitlines()
    assert any("several people" in line and " 1 values; with 2+ emails 1, 2+ accounts 0" in line
               and "another person's device 50%" in line and "its owner's device 50%" in line for line in lines)
    assert any("one person" in line and " 1 values; with 2+ emails 1" in line
               and "a household's device 50%" in line for line in lines if "payment_fingerprint" in line)


@pytest.mark.integration
@pytest.mark.slow
def test_resolve_script_adds_the_graph_servers_cpu_per_call(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if backend_names(["gremlin"], None) != ["gremlin"]:
        pytest.skip("no Java or no ../shared/gremlin-server to start a fresh server from")
    with gremlin_server() as url:
        # --server-pid reads any process's CPU from /proc (in clock ticks: a short run may read 0)
        assert resolve.main([*TINY, "--backends", "gremlin", "--gremlin-url", url, "--server-pid", str(os.getpid()),
                             "--concurrency", "2", "--requests", "10", "--rate", "10", "--rate-seconds", "0.5",
                             "--walk-samples", "0", "--warmup-people", "0", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "resolve.json").read_text())["backends"]["gremlin"]
    assert all(row["graph_server_cpu_ms_per_call"] >= 0 for row in [*rows["levels"], rows["fixed_rate"]])
    assert "graph server CPU" in capsys.readouterr().out


@pytest.mark.integration
@pytest.mark.slow
def test_group_wall_times_each_group_the_service_writes_on_a_graph_server(capsys: pytest.CaptureFixture) -> None:
    if backend_names(["gremlin"], None) != ["gremlin"]:
        pytest.skip("no Java or no ../shared/gremlin-server to start a fresh server from")
    environment = dict(os.environ)
    with gremlin_server() as url:
        # --server-pid: this process stands in (its CPU and threads read from /proc as the server's)
        assert group_wall.main(["--gremlin-url", url, "--server-pid", str(os.getpid()), "--",
                                *TINY, "--batch", "5", "--concurrency", "2", "--warmup-people", "0"]) == 0
    assert dict(os.environ) == environment  # the probe's variables gone again
    lines = capsys.readouterr().out.splitlines()
    written = next(line for line in lines if line.startswith("gremlin ") and " groups of " in line).split()
    groups = next(line for line in lines if " groups of " in line and line.split()[0].isdigit())
    assert groups.split()[0] == written[written.index("groups") - 1], lines  # each group recorded once
    waits = [line for line in lines if line.strip().startswith("wait for the answer")]
    assert len(waits) == 2 and all(float(line.split()[-1]) > 0 for line in waits)  # the read's and the write's
    assert any(line.startswith("plans") and float(line.split()[1]) > 0 for line in lines)


def test_group_wall_sums_the_groups_per_event() -> None:
    records = [{"at": 0.0, "events": 10, "group_wall": 20.0, "group_cpu": 8.0, "read_total_wall": 9.0,
                "read_requests": 1, "read_bytes_out": 2048, "read_bytes_in": 4096, "write_requests": 1,
                "write_bytes_out": 1024, "write_bytes_in": 0, "read_server_wait_wall": 5.0},
               {"at": 0.03, "events": 30, "group_wall": 20.0, "group_cpu": 8.0, "read_total_wall": 7.0,
                "read_requests": 1, "read_bytes_out": 2048, "read_bytes_in": 4096, "write_requests": 1,
                "write_bytes_out": 1024, "write_bytes_in": 0, "read_server_wait_wall": 3.0}]
    lines = group_wall.summary(records)
    assert lines[0].startswith("2 groups of 20.0 events; the writer busy 80% of 0.1 s")
    assert next(line for line in lines if line.startswith("group ")).split()[1:] == ["1.000", "0.400"]
    assert next(line for line in lines if line.startswith("read (all")).split()[-2] == "0.400"
    assert "read: 2.0 KB sent, 4.0 KB answered a request" in lines
