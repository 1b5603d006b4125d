//! `cargo bench -p xbot-core`: normalize + hash and Beta sampling.
//! Results are recorded in docs/BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use xbot_core::{bandit, content};

fn texts() -> [(&'static str, String); 3] {
    let ascii = "Just shipped v2.0 of our posting bot! Rust core, Redis queues, Lua scripts. Thread below #Rust #Redis "
        .repeat(3)[..280]
        .to_string();
    let mixed: String = "Ünïcödé ΣΊΣΥΦΟΣ café 🚀 中文テスト  Straße\u{3000}"
        .chars()
        .cycle()
        .take(280)
        .collect();
    let big = "Lorem ipsum DOLOR sit amet,\tconsectetur\u{a0}adipiscing elit. "
        .repeat(10_240 / 58 + 1)[..10_240]
        .to_string();
    [
        ("tweet_280_ascii", ascii),
        ("tweet_280_mixed", mixed),
        ("text_10kb", big),
    ]
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("content_hash");
    for (name, text) in texts() {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| content::content_hash(black_box(&text))));
    }
    g.finish();
    let mut g = c.benchmark_group("normalize");
    for (name, text) in texts() {
        g.throughput(Throughput::Bytes(text.len() as u64));
        let mut buf = String::new();
        g.bench_function(name, |b| {
            b.iter(|| content::normalize_into(black_box(&text), &mut buf))
        });
    }
    g.finish();
    let batch: Vec<String> = (0..1000)
        .map(|i| format!("{} #{i}", texts()[0].1))
        .collect();
    let mut g = c.benchmark_group("content_hash_batch");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("1000_tweets", |b| {
        b.iter(|| content::content_hash_batch(black_box(&batch)))
    });
    g.finish();
}

fn beta(c: &mut Criterion) {
    let mut g = c.benchmark_group("beta");
    const N: u64 = 10_000;
    g.throughput(Throughput::Elements(N));
    for (a, b) in [(1.0, 1.0), (0.5, 0.5), (2.0, 5.0), (30.0, 70.0)] {
        g.bench_function(format!("beta({a},{b})x{N}"), |bench| {
            bench.iter_batched(
                || bandit::BetaSampler::new(42),
                |mut s| (0..N).map(|_| s.sample(a, b)).sum::<f64>(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, hashing, beta);
criterion_main!(benches);
