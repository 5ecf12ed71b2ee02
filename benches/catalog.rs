//! Benchmarks of the catalogue at 10,000 records: applying gossip, merging a peer's state, the
//! per-second local refresh, and the Snapshot JSON encodings (fresh and cached).
//!
//! Run: `cargo bench --bench catalog -- --quick` (or `--warm-up-time 1 --measurement-time 3`).
//! Inputs are cloned outside the timed part with `iter_batched`; results are returned from the
//! routine so that dropping them is not timed either.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sidecar::catalog::{Catalog, Lifespans, Port, Service, ServiceStatus, ServicesState, Snapshot};
use sidecar::clock::Timestamp;

const RECORDS: usize = 10_000;
/// 100 hosts × 100 records each; 500 service names.
const PER_HOST: usize = 100;
const NODE: &str = "host-000";

fn t0() -> Timestamp {
    Timestamp::from_unix_secs(1_795_420_800) // 2026-11-23T08:00:00Z
}

fn at(secs: u64) -> Timestamp {
    t0().plus(Duration::from_secs(secs))
}

/// Record `i` of `host`, stamped `updated`.
fn record(host: &str, i: usize, updated: Timestamp) -> Service {
    Service {
        id: format!("{i:012x}"),
        name: format!("service-{:03}", i % 500),
        image: format!("registry.example.com/service-{:03}:v{}", i % 500, i % 7),
        created: t0(),
        hostname: host.to_owned(),
        ports: Some(vec![Port {
            kind: "tcp".into(),
            port: 20_000 + (i % 10_000) as i64,
            service_port: 10_000 + (i % 500) as i64,
            ip: "10.0.0.1".into(),
        }]),
        updated,
        proxy_mode: "http".into(),
        status: ServiceStatus::Alive,
    }
}

/// 10,000 records spread over 100 hosts (none of them this node).
fn remote_records(updated: Timestamp) -> Vec<Service> {
    (0..RECORDS)
        .map(|i| record(&format!("peer-{:03}", i / PER_HOST), i, updated))
        .collect()
}

fn catalog() -> Catalog {
    Catalog::new(NODE, "default", Lifespans::default())
}

fn applied(records: &[Service], now: Timestamp) -> Catalog {
    let mut catalog = catalog();
    for svc in records {
        let _ = catalog.apply(svc.clone(), now);
    }
    catalog
}

fn bench_apply(c: &mut Criterion) {
    let fresh = remote_records(at(0));
    c.bench_function(
        "apply 10k fresh remote records into an empty catalog",
        |b| {
            b.iter_batched(
                || (catalog(), fresh.clone()),
                |(mut catalog, records)| {
                    for svc in records {
                        let _ = black_box(catalog.apply(svc, at(1)));
                    }
                    catalog
                },
                BatchSize::LargeInput,
            );
        },
    );
}

fn bench_merge(c: &mut Criterion) {
    let older = applied(&remote_records(at(0)), at(1));
    let newer = applied(&remote_records(at(1)), at(1)).state().clone();
    c.bench_function("merge a 10k-record state over older versions", |b| {
        b.iter_batched(
            || older.clone(),
            |mut catalog| {
                black_box(catalog.merge(black_box(&newer), at(2)));
                catalog
            },
            BatchSize::LargeInput,
        );
    });
}

fn bench_sync_local(c: &mut Criterion) {
    let observed: Vec<Service> = (0..RECORDS)
        .map(|i| record("", i, Timestamp::ZERO))
        .collect();
    let pending = BTreeSet::new();
    let mut synced = catalog();
    let _ = synced.sync_local(observed.clone(), &pending, at(0));
    c.bench_function("sync_local refresh of 10k local records", |b| {
        b.iter_batched(
            || (synced.clone(), observed.clone()),
            |(mut catalog, observed)| {
                black_box(catalog.sync_local(observed, &pending, at(1)));
                catalog
            },
            BatchSize::LargeInput,
        );
    });
}

fn big_state() -> (ServicesState, Vec<String>) {
    let catalog = applied(&remote_records(at(0)), at(1));
    let members = catalog.state().servers.keys().cloned().collect();
    (catalog.state().clone(), members)
}

fn bench_snapshot(c: &mut Criterion) {
    let (state, members) = big_state();
    let fresh = || Snapshot::new(state.clone(), members.clone(), 1, 1);
    let mut group = c.benchmark_group("snapshot of 10k services");
    group.bench_function("state_json (first call)", |b| {
        b.iter_batched(
            fresh,
            |snapshot| {
                black_box(snapshot.state_json());
                snapshot
            },
            BatchSize::LargeInput,
        );
    });
    group.bench_function("services_json (first call)", |b| {
        b.iter_batched(
            fresh,
            |snapshot| {
                black_box(snapshot.services_json());
                snapshot
            },
            BatchSize::LargeInput,
        );
    });
    let cached = fresh();
    let _ = (cached.state_json(), cached.services_json());
    group.bench_function("state_json (cached)", |b| {
        b.iter(|| black_box(cached.state_json()));
    });
    group.bench_function("services_json (cached)", |b| {
        b.iter(|| black_box(cached.services_json()));
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_apply,
    bench_merge,
    bench_sync_local,
    bench_snapshot
);
criterion_main!(benches);
