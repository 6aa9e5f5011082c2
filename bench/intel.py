"""Intel benchmark: access-filtered full-text search on PostgreSQL over a large store,
federation sync throughput between two instances over HTTP, and the need-to-know property
check over 10,000 random caller-item pairs.

    .venv/bin/python -m bench.intel                  # 1,000,000 items (about 8 minutes)
    .venv/bin/python -m bench.intel --items 100000   # quicker

Search: items are bulk-loaded with COPY into a throw-away database (the GIN index is built
after the load; build time is reported but is not the figure), then 200 two-word queries of
mixed selectivity run as analysts of random agencies, each query filtered by the policy in
the same SQL statement (`reads.search_query`), LIMIT 50. Sync: a second instance (SQLite)
pulls every item addressed to it through the federation routes of the first (signed
envelopes, `wire` records), measured end to end; the STIX-based core envelope is timed on
the same items for comparison. Property: `tests/integration/intel/agreement.py` on a random
population, every read path against `access.can_read`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.common import (
    Target,
    exit_cleanly_on_sigterm,
    fmt,
    percentile,
    print_table,
    progress,
    summarise,
    throwaway_database,
    write_results,
)
from bench.server import serve
from khusela.identity.model import Clearance, Principal, Role
from khusela.intel import federation, reads, rows, sync
from khusela.intel.signing import generate_key, public_key_pem
from khusela.store.database import Database
from khusela.store.migrate import upgrade

AGENCIES = [str(uuid.UUID(int=n + 1, version=4)) for n in range(200)]
USERS = [str(uuid.UUID(int=10_000 + n, version=4)) for n in range(2000)]
GROUPS = [f"grp-{n}" for n in range(20)]
PARTNER = "kwazulu-natal"
POOL = 20_000
TOPICS = [
    "zama",
    "zama",
    "gold",
    "shaft",
    "syndicate",
    "copper",
    "cable",
    "substation",
    "theft",
    "taxi",
    "rank",
    "extortion",
    "protection",
    "hijacking",
    "firearm",
    "drug",
    "mandrax",
    "tik",
    "cocaine",
    "dealer",
    "port",
    "container",
    "smuggling",
    "gang",
    "turf",
    "shooting",
    "councillor",
    "tender",
    "protest",
    "unrest",
    "road",
    "blockade",
    "vandalism",
    "railway",
    "signalling",
    "battery",
    "tower",
    "scrap",
    "metal",
    "buyer",
    "bakkie",
    "hilux",
    "quantum",
    "minibus",
    "tavern",
    "shebeen",
    "informant",
    "cellphone",
    "sim",
    "ransom",
    "kidnapping",
    "cash",
    "heist",
    "depot",
    "guard",
    "insider",
    "school",
    "learner",
    "nyaope",
    "pipeline",
    "diesel",
]
COLUMNS = (
    "id, version, seq, status, title, body, category, tlp, classification, caveats, reliability, "
    "credibility, handling, province, municipality, ward, cells, window_start, window_end, origin_instance, "
    "agency_id, author_id, review_at, human_source, source_ref, source_description, sanitised, "
    "sanitised_note, attachments, observables, received_from, created_at, updated_at"
)
CATEGORIES = [
    "illegal_mining",
    "drug_trafficking",
    "violent_crime",
    "extortion",
    "gang_activity",
    "infrastructure_theft",
]
MUNICIPALITIES = ["JHB", "TSH", "EKU", "ETH", "CPT", "NMA", "BUF", "MAN"]


def _vocabulary(rng: random.Random) -> list[str]:
    """3,000 filler words with the domain words placed among the moderately common ones
    (ranks 150-210), drawn with a Zipf-like skew as text is: each domain word then appears in
    roughly 2-4% of reports, as a topic word does in a real intelligence store."""
    syllables = ["ka", "mo", "tse", "ng", "bu", "la", "zi", "pho", "the", "ra", "ndi", "wa", "se", "lo"]
    filler = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(4000)})[
        :3000
    ]
    rng.shuffle(filler)
    return filler[:150] + TOPICS + filler[150:]


def _text(rng: random.Random, vocab: Sequence[str], weights: Sequence[float], n: int) -> str:
    return " ".join(rng.choices(vocab, weights, k=n))


def load_items(url: str, count: int, seed: int = 11) -> dict[str, float]:
    """COPY `count` items (and their distribution and groups) into the database at `url`."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    weights = [1.0 / (rank + 8) for rank in range(len(vocab))]
    # A pool of texts drawn once: generating 40 words per item would dominate the load.
    titles = [_text(rng, vocab, weights, 6) for _ in range(POOL)]
    bodies = [_text(rng, vocab, weights, 40) for _ in range(POOL)]
    now = datetime.now(UTC)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS ix_intel_items_search")
        conn.execute(
            "INSERT INTO sharing_groups (id, name, description, created_at) "
            "SELECT g, g, '', now() FROM unnest(%s::text[]) g",
            (GROUPS,),
        )
        dist: list[tuple[str, str, str]] = []
        groups: list[tuple[str, str]] = []
        with conn.cursor() as cur, cur.copy(f"COPY intel_items ({COLUMNS}) FROM STDIN") as copy:
            for n in range(count):
                item_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                tlp = rng.choices([0, 1, 2, 3, 4], [5, 30, 45, 12, 8])[0]
                created = now - timedelta(minutes=rng.randint(1, 3 * 365 * 24 * 60))
                review = created + timedelta(days=5 * 365)
                handling = "C" if rng.random() < 0.2 else "P"
                received = rng.random() < 0.05
                copy.write_row(
                    (
                        item_id, 1, n + 1, "active",
                        titles[rng.randrange(POOL)],
                        bodies[rng.randrange(POOL)],
                        rng.choice(CATEGORIES), tlp, rng.choices([0, 1, 2, 3, 4], [10, 40, 30, 15, 5])[0],
                        "[]", rng.choice("ABCDEF"), rng.randint(1, 6), handling,
                        "GP", rng.choice(MUNICIPALITIES), None, "[]", None, None,
                        PARTNER if received else "gauteng", rng.choice(AGENCIES), rng.choice(USERS), review,
                        False, None, None, False, None, "[]", "[]", PARTNER if received else None,
                        created, created,
                    )
                )  # fmt: skip
                if rng.random() < 0.3:
                    dist += [(item_id, "agency", a) for a in rng.sample(AGENCIES, rng.randint(1, 3))]
                if tlp == 4 and rng.random() < 0.7:
                    dist += [(item_id, "user", u) for u in rng.sample(USERS, 2)]
                if tlp <= 2 and rng.random() < 0.1:
                    groups.append((item_id, rng.choice(GROUPS)))
                if tlp <= 2 and not received and rng.random() < 0.02:
                    dist.append((item_id, "instance", PARTNER))
                if n and n % 200_000 == 0:
                    progress(f"  {n:,} items copied")
        with (
            conn.cursor() as cur,
            cur.copy("COPY intel_item_distribution (item_id, kind, target) FROM STDIN") as copy,
        ):
            for row in dist:
                copy.write_row(row)
        with conn.cursor() as cur, cur.copy("COPY intel_item_groups (item_id, group_id) FROM STDIN") as copy:
            for grow in groups:
                copy.write_row(grow)
        loaded = time.perf_counter()
        progress("  building the GIN index")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("CREATE INDEX ix_intel_items_search ON intel_items USING gin (search)")
        conn.execute("VACUUM ANALYZE intel_items")
        conn.execute("VACUUM ANALYZE intel_item_distribution")
        conn.execute("VACUUM ANALYZE intel_item_groups")
    return {
        "load_seconds": round(loaded - started, 1),
        "index_seconds": round(time.perf_counter() - loaded, 1),
        "distribution_rows": len(dist),
        "group_rows": len(groups),
    }


def _analyst(rng: random.Random) -> Principal:
    return Principal(
        user_id=rng.choice(USERS),
        username="bench",
        roles=frozenset({Role.INTEL_ANALYST}),
        clearance=rng.choice([Clearance.RESTRICTED, Clearance.CONFIDENTIAL, Clearance.SECRET]),
        agency_id=rng.choice(AGENCIES),
        sharing_groups=frozenset(rng.sample(GROUPS, rng.randint(0, 2))),
    )


def _query(rng: random.Random, kind: str) -> str:
    words = rng.sample(TOPICS, {"one word": 1, "two words": 2, "three words": 3}[kind])
    return " ".join(words)


def bench_search(db: Database, queries: int = 300, seed: int = 5) -> dict[str, Any]:
    """Policy-filtered full-text search as the API runs it (`reads.search_query`, LIMIT 50,
    ranked), without the audit write; as analysts type: two or three words mostly, one in five
    a single word (the slow case: a single topic word matches 2-4% of all items)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    kinds = ["two words"] * 3 + ["three words"] + ["one word"]
    timings: dict[str, list[float]] = {k: [] for k in set(kinds)}
    hits = []
    with db.read() as conn:
        reads.tune_for_search(conn)
        for n in range(queries + 20):
            principal, kind = _analyst(rng), kinds[n % len(kinds)]
            statement = reads.search_query(conn, principal, _query(rng, kind), now, 50)
            started = time.perf_counter()
            found = conn.execute(statement).all()
            elapsed = time.perf_counter() - started
            if n >= 20:  # warm-up
                timings[kind].append(elapsed)
                hits.append(len(found))
        counts = {
            w: conn.execute(
                text("SELECT count(*) FROM intel_items WHERE search @@ websearch_to_tsquery('english', :w)"),
                {"w": w},
            ).scalar_one()
            for w in TOPICS[:5]
        }
    every = sorted(t * 1000 for ts in timings.values() for t in ts)
    return {
        "queries": len(every),
        "latency_ms": summarise([t / 1000 for t in every]).as_dict()
        | {"p95_ms": round(percentile(every, 95), 3)},
        "p95_ms_by_kind": {
            k: round(percentile(sorted(t * 1000 for t in ts), 95), 3) for k, ts in timings.items()
        },
        "mean_hits": round(sum(hits) / len(hits), 1),
        "matches_of_single_topic_words": counts,
    }


def bench_sync(url: str, db: Database, work: Path) -> dict[str, Any]:
    """KwaZulu-Natal (SQLite, this process) pulls everything Gauteng (the large PostgreSQL
    store, its own API process on loopback) addressed to it, through Gauteng's federation
    route, in signed envelopes of 2,000 records."""
    kzn_db = Database(f"sqlite:///{work / 'kzn.db'}")
    upgrade(kzn_db)
    kzn_dir = work / "kzn"
    now = datetime.now(UTC)
    with serve(url, log_level="WARNING") as server:
        gp_dir = server.log_path.parent / "data"  # the server's data dir: its key is created here
        with db.write() as conn:
            sync.set_instance(conn, "gauteng")
            sync.add_partner(
                conn, PARTNER, public_key_pem(sync.instance_key(kzn_dir).public_key()), None, now
            )
        with kzn_db.write() as conn:
            sync.set_instance(conn, PARTNER)
            gp_key = public_key_pem(sync.instance_key(gp_dir).public_key())
            sync.add_partner(conn, "gauteng", gp_key, server.base_url, now)
        with httpx.Client(timeout=120) as http:
            started = time.perf_counter()
            applied = sync.pull(kzn_db, kzn_dir, "gauteng", http)
            seconds = time.perf_counter() - started
            again = time.perf_counter()
            repeat = sync.pull(kzn_db, kzn_dir, "gauteng", http)
            repeat_seconds = time.perf_counter() - again
    with db.read() as conn:
        sample_rows = conn.execute(
            text(
                "SELECT i.* FROM intel_items i JOIN intel_item_distribution d ON d.item_id = i.id "
                "AND d.kind = 'instance' AND d.target = :p ORDER BY i.seq LIMIT 500"
            ),
            {"p": PARTNER},
        ).all()
        sample = [s.item for s in rows.load(conn, sample_rows)]
    chosen = federation.select_for_partner(sample, PARTNER, now)
    t0 = time.perf_counter()
    federation.build_envelope(
        chosen, origin="gauteng", target=PARTNER, sequence=0, cursor="x", private_key=generate_key(), now=now
    )
    stix_rate = len(chosen) / (time.perf_counter() - t0)
    with kzn_db.read() as conn:
        held = conn.execute(text("SELECT count(*) FROM intel_items")).scalar_one()
    kzn_db.dispose()
    return {
        "records": applied.inserted,
        "held_by_partner": int(held),
        "seconds": round(seconds, 3),
        "items_per_s": round(applied.inserted / seconds, 0) if seconds else 0,
        "repeat_pull_seconds": round(repeat_seconds, 3),
        "repeat_inserted": repeat.inserted,
        "stix_envelope_build_items_per_s": round(stix_rate, 0),
        "stix_sample": len(chosen),
        "transport": "HTTP on loopback between two processes (uvicorn sender, httpx receiver)",
    }


def bench_property(url: str, pairs: int, population: int = 200) -> dict[str, Any]:
    """`pairs` random caller-item pairs: `pairs // population` callers over `population` items."""
    from tests.integration.intel.agreement import check, check_federation, populate, random_principal

    db = Database(url, pool_size=2)
    rng = random.Random(3)
    leaks = misses = 0
    paths: set[str] = set()
    callers = max(1, pairs // population)
    started = time.perf_counter()
    try:
        with db.write() as conn:
            pop = populate(conn, population, seed=19)
        for n in range(callers):
            principal = random_principal(rng)
            with db.write() as conn:
                for d in check(conn, pop, principal, export=n % 5 == 0):
                    leaks += len(d.leaks)
                    misses += len(d.misses)
                    paths.add(d.path)
        with db.read() as conn:
            for d in check_federation(conn, pop):
                leaks += len(d.leaks)
                misses += len(d.misses)
                paths.add(d.path)
    finally:
        db.dispose()
    return {
        "pairs": callers * population,
        "callers": callers,
        "items": population,
        "read_paths": [
            "list",
            "search",
            "entity items",
            "entity links",
            "export (every 5th caller)",
            "feed",
            "federation",
        ],
        "leaks": leaks,
        "misses": misses,
        "disagreeing_paths": sorted(paths),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the search store")
    parser.add_argument("--pairs", type=int, default=10_000, help="caller-item pairs for the property check")
    args = parser.parse_args(argv)
    if args.items < 1000:
        parser.error("--items must be at least 1000")
    exit_cleanly_on_sigterm()
    figures: dict[str, Any] = {"items": args.items}
    work = Path(tempfile.mkdtemp(prefix="khusela-intel-bench-"))
    try:
        with throwaway_database(prefix="khusela_bench_intel") as url:
            progress(f"loading {args.items:,} items with COPY")
            figures["build"] = load_items(url, args.items)
            db = Database(url, pool_size=4)
            try:
                progress("searching")
                figures["search"] = bench_search(db)
                progress("federation sync")
                figures["sync"] = bench_sync(url, db, work)
            finally:
                db.dispose()
        with throwaway_database(prefix="khusela_bench_intel_prop") as url:
            progress(f"property check over {args.pairs:,} pairs")
            figures["property"] = bench_property(url, args.pairs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    s, y, p = figures["search"], figures["sync"], figures["property"]
    b, ms = figures["build"], s["latency_ms"]
    print_table(
        f"Intel on PostgreSQL, {args.items:,} items",
        ["figure", "value"],
        [
            ["load (COPY), s / GIN index, s", f"{b['load_seconds']} / {b['index_seconds']}"],
            ["search p50 / p95 / max, ms", " / ".join(fmt(ms[k]) for k in ("p50_ms", "p95_ms", "max_ms"))],
            ["search p95 by kind, ms", ", ".join(f"{k} {fmt(v)}" for k, v in s["p95_ms_by_kind"].items())],
            ["search mean hits (limit 50)", fmt(s["mean_hits"], 1)],
            ["sync records in s (end to end)", f"{y['records']:,} in {y['seconds']} s"],
            ["sync items/s", fmt(y["items_per_s"], 0)],
            ["core STIX envelope build, items/s", fmt(y["stix_envelope_build_items_per_s"], 0)],
            ["property pairs / leaks / misses", f"{p['pairs']:,} / {p['leaks']} / {p['misses']}"],
        ],
    )  # fmt: skip
    targets = [
        Target("search p95", "policy-filtered FTS, LIMIT 50", s["latency_ms"]["p95_ms"], 100, "ms", False),
        Target("federation sync", "end-to-end pull over HTTP", y["items_per_s"], 2000, "items/s", True),
        Target(
            "property leaks", f"{p['pairs']:,} pairs, every read path", p["leaks"] + p["misses"], 0, "", False
        ),
    ]
    for t in targets:
        verdict = "ok" if t.passed else "MISSED"
        print(f"target: {t.name}: {fmt(t.value, 2)} {t.unit} (limit {fmt(t.limit, 0)}) {verdict}")
    print(f"wrote {write_results('intel', figures, targets)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
